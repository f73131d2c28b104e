"""What the answer judge weighs: measured signals of one draft, each a number, none a verdict on its own.

- the generator's confidence: the probability of the first token it wrote;
- the verification prompt's share of "yes" (`verified`, set by the judge when it matters);
- retrieval: the best dense score, the dense margin to the next passage, and the largest share of the
  question's terms one retrieved passage holds (BM25's own scores depend on the corpus's size);
- what the cited documents hold of the question: its content terms (`coverage`) and its names (`names`);
- whether the citations state the answer (`supported`, `support`), and whether the question is a choice.

Measured and dropped, each costing nothing on either held-out half when left out (README, the ablation):
the draft's mean log-probability, the probability of a refusal, the best sentence's score, the answer's
length, whether it is of the kind asked, whether the question is yes/no. Leaving the six out raised the
judge's AUROC on the general check half from 0.784 to 0.813. `kind` is still measured: `repair` reads it.
"""

from __future__ import annotations

from qa.analysis import Form, holds_kind
from qa.matching import coverage, terms
from qa.work import Work


def names_held(names: tuple[str, ...], held: set[str]) -> float:
    """Share of the question's names whose every term the cited documents hold."""
    wanted = [terms(n) for n in names if terms(n)]
    if not wanted:
        return 1.0
    return sum(coverage(w, held) == 1.0 for w in wanted) / len(wanted)


JUDGED = ("first_token", "verified", "dense_top", "dense_margin", "lexical_top", "coverage", "names", "supported",
          "support", "choice")


def measure(work: Work) -> dict[str, float]:
    """The signals of `JUDGED` (but `verified`) and `kind`."""
    claim, analysis = work.claim, work.analysis
    signals: dict[str, float] = {}
    if work.confidence.first is not None:
        signals["first_token"] = float(work.confidence.first)
    dense = sorted((p.dense_score for p in work.passages if p.dense_score is not None), reverse=True)
    signals["dense_top"] = dense[0] if dense else 0.0
    signals["dense_margin"] = dense[0] - dense[1] if len(dense) > 1 else signals["dense_top"]
    # BM25 scores grow with the corpus (its IDF): what a passage holds of the question's terms does not.
    wanted = set(analysis.terms)
    signals["lexical_top"] = max((coverage(wanted, terms(p.text)) for p in work.passages), default=0.0) \
        if wanted else 0.0
    text = claim.text if claim is not None else work.answer
    citations = claim.citations if claim is not None else ()
    sources = {c.source for c in citations}
    held = terms(" ".join([c.text for c in citations] + [p.text for p in work.passages if p.source in sources]))
    signals["coverage"] = coverage(wanted, held) if wanted and sources else 0.0
    signals["names"] = names_held(analysis.names, held) if sources else 0.0
    signals["supported"] = float(bool(claim and claim.supported))
    signals["support"] = float(claim.support) if claim is not None else 0.0
    signals["choice"] = float(analysis.form is Form.CHOICE)
    signals["kind"] = float(holds_kind(text, analysis))
    return signals
