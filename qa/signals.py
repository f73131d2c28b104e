"""What the answer judge weighs: measured signals of one draft, each a number, none a verdict on its own.

- the generator's confidence: mean token log-probability, the first token's probability, the probability
  it gave to beginning with a refusal;
- the verification prompt's share of "yes" (`verified`, set by the `verify` step);
- retrieval: the best sentence's score (`qa.evidence`), the best dense score, the dense margin to the next
  passage, and the largest share of the question's terms one retrieved passage holds (BM25's own scores
  depend on the corpus's size);
- what the cited documents hold of the question: its content terms (`coverage`) and its names (`names`);
- the answer: of the kind asked (a date for "when?"), stated by its citations (`supported`, `support`), its
  length in words;
- the question: a yes/no or a choice question, a follow-up rewritten from the conversation.
"""

from __future__ import annotations

import math

from qa.analysis import Form, holds_kind
from qa.matching import coverage, terms
from qa.work import Work


def _names_held(names: tuple[str, ...], held: set[str]) -> float:
    """Share of the question's names whose every term the cited documents hold."""
    wanted = [terms(n) for n in names if terms(n)]
    if not wanted:
        return 1.0
    return sum(coverage(w, held) == 1.0 for w in wanted) / len(wanted)


def measure(work: Work) -> dict[str, float]:
    claim, analysis, sure = work.claim, work.analysis, work.confidence
    signals: dict[str, float] = {}
    for name, value in (("mean_logprob", sure.mean_logprob), ("first_token", sure.first), ("refusal", sure.refusal)):
        if value is not None:
            signals[name] = float(value)
    signals["evidence_top"] = work.sentences[0].score if work.sentences else 0.0
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
    signals["coverage"] = coverage(set(analysis.terms), held) if analysis.terms and sources else 0.0
    signals["names"] = _names_held(analysis.names, held) if sources else 0.0
    signals["kind"] = float(holds_kind(text, analysis))
    signals["supported"] = float(bool(claim and claim.supported))
    signals["support"] = float(claim.support) if claim is not None else 0.0
    signals["answer_words"] = math.log1p(len(text.split()))
    signals["yes_no"] = float(analysis.form is Form.YES_NO)
    signals["choice"] = float(analysis.form is Form.CHOICE)
    signals["rewritten"] = float(work.asked != work.question)
    return signals
