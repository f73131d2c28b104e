"""What the answer judge weighs: measured signals of one draft, each a number, none a verdict on its own.

- the verifier's P(the best sentence states that this answers the question) (`qa.verifier`, open questions), and
  its best P for any name, date or number of the kind asked in the best sentences (`span_top`: does anything
  retrieved state an answer?);
- the generator's confidence: the probability of the first token it wrote;
- the verification prompt's share of "yes" (`verified`, set by the judge for follow-ups and, with the
  `verify` step, whenever it could change the decision; where it is not asked it sits at its training mean);
- retrieval: the best dense score, the dense margin to the next passage, and the largest share of the
  question's terms one retrieved passage holds (BM25's own scores depend on the corpus's size);
- what the cited documents hold of the question's content terms (`coverage`), and whether the question is a
  choice between two things.

Measured and dropped, each costing nothing on either held-out half when left out (README, the ablation):
the draft's mean log-probability, the probability of a refusal, the best sentence's score, the answer's
length, whether it is of the kind asked, whether the question is yes/no (AUROC on the general check half
0.784 -> 0.813 without the six); then the share of the question's names the cited documents hold and the
share of the answer its citations state. `supported` is measured for the judge's rule (an answer nothing
states is never shown) and `kind` for `repair`.
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


JUDGED = ("verifier", "span_top", "first_token", "verified", "dense_top", "dense_margin", "lexical_top", "coverage", "choice")


def measure(work: Work) -> dict[str, float]:
    """The signals of `JUDGED` (but `verified`), and `supported` and `kind` for the rules that read them."""
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
    signals["supported"] = float(bool(claim and claim.supported))
    signals["choice"] = float(analysis.form is Form.CHOICE)
    signals["kind"] = float(holds_kind(text, analysis))
    if work.support:
        signals["verifier"] = work.support[0][1]
    if work.readings:
        signals["span_top"] = work.readings[0][2]
    return signals
