"""Run a question set against citeqa: retrieval in each mode, then answers from each generator.

Every question gets one outcome per configuration, scored on the spot with `eval.metrics`, so the
report, the JSON results and the regression check all read the same per-question records.
Retrieval modes are compared on retrieval alone; answers always use hybrid retrieval, the product's
setting, so generators are compared on equal evidence.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from eval import metrics
from eval.dataset import Question, QuestionSet, evidence_spans

if TYPE_CHECKING:  # qa imports torch: only load it when a run starts
    from index.documents import IndexReport
    from qa.answer import Answer
    from qa.assistant import Assistant
    from qa.config import Config

MODES = ("dense", "keyword", "hybrid")
RECALL_AT = (1, 3, 5, 10)
PASS = "pass"


@dataclass(frozen=True, slots=True)
class RetrievalOutcome:
    """Where the evidence ranked among the passages one mode retrieved for one question."""

    mode: str
    rank: int | None  # 1-based rank of the first passage holding the evidence, None when none does
    passages: tuple[dict[str, Any], ...]  # source, start, end, score of each retrieved passage

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "passages": list(self.passages)}


@dataclass(frozen=True, slots=True)
class AnswerOutcome:
    """One generator's answer to one question, with every score and a verdict."""

    generator: str
    text: str
    abstained: bool
    reason: str
    conflict: bool
    exact_match: float | None  # None on unanswerable questions
    f1: float | None
    contains: float | None
    citations: metrics.CitationScore | None  # None when the answer abstained
    conflict_score: float | None  # only on questions of type "conflict"
    timings: dict[str, float]
    cited: tuple[dict[str, Any], ...]
    verdict: str  # PASS, or why the question failed
    error: str = ""
    cites_source: bool | None = None  # a citation into the question's own document; None: abstained or unanswerable
    detail: str = ""  # the technical reason of an abstention
    draft: str = ""  # what the generator wrote, before checks
    checks: tuple[tuple[str, bool], ...] = ()  # every verdict given, in order
    check_details: tuple[tuple[str, str], ...] = ()  # what each step that gave a verdict saw
    candidate: str = ""  # the answer the judge weighed, before any abstention: what the judge is trained on
    probability: float | None = None  # the judge's P(right)
    signals: tuple[tuple[str, float], ...] = ()  # what the judge weighed: its training data (eval.calibrate)
    calls: int = 0  # model calls
    searches: int = 0  # index searches
    repaired: str = ""  # why a second draft was asked for
    read: bool = False  # the answer is the verifier's span, chosen over the draft (qa.steps.Reader)
    cites_statement: bool | None = None  # a right answer whose first citation is its evidence quote's sentence

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    def to_dict(self) -> dict[str, Any]:
        c = self.citations
        return {
            "text": self.text, "abstained": self.abstained, "reason": self.reason, "conflict": self.conflict,
            "exact_match": self.exact_match, "f1": _round(self.f1), "contains": self.contains,
            "citation_recall": _round(c.recall) if c else None,
            "citation_precision": _round(c.precision) if c else None,
            "grounding": _round(c.grounding) if c else None,
            "citation_counts": {"sentences": c.sentences, "supported_sentences": c.supported_sentences,
                                "links": c.citation_links, "supporting_links": c.supporting_links,
                                "citations": c.citations, "grounded": c.grounded_citations} if c else None,
            "conflict_score": self.conflict_score,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "citations": list(self.cited), "cites_source": self.cites_source, "passed": self.passed,
            "verdict": self.verdict, "error": self.error, "detail": self.detail, "draft": self.draft,
            "checks": [list(c) for c in self.checks], "check_details": dict(self.check_details),
            "candidate": self.candidate, "probability": _round(self.probability), "signals": dict(self.signals),
            "calls": self.calls, "searches": self.searches, "repaired": self.repaired, "read": self.read,
            "cites_statement": self.cites_statement,
        }


@dataclass(frozen=True, slots=True)
class QuestionResult:
    question: Question
    evidence_found: bool  # the quote occurs in the indexed text of its source (always True when unanswerable)
    retrieval: dict[str, RetrievalOutcome] = field(default_factory=dict)
    answers: dict[str, AnswerOutcome] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.question.to_dict()
        data["evidence_found"] = self.evidence_found
        data["retrieval"] = {mode: r.to_dict() for mode, r in self.retrieval.items()}
        data["results"] = {name: a.to_dict() for name, a in self.answers.items()}
        return data


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What was measured, where and when: enough to reproduce a run and to tell whether two runs compare."""

    set_path: str
    set_sha256: str
    questions: int
    limit: int | None
    corpus: str | None
    index: str
    documents: int
    generators: tuple[str, ...]
    modes: tuple[str, ...]
    k: int
    started: str
    seconds: float
    index_seconds: float
    load_seconds: dict[str, float]
    machine: str
    settings: dict[str, Any] = field(default_factory=dict)  # the answering Config, so a run can be reproduced
    recipe: dict[str, Any] = field(default_factory=dict)  # how a built set was made (`eval.halueval_set`)

    def to_dict(self) -> dict[str, Any]:
        return {"set": self.set_path, "set_sha256": self.set_sha256, "questions": self.questions,
                "limit": self.limit, "corpus": self.corpus, "index": self.index, "documents": self.documents,
                "generators": list(self.generators), "modes": list(self.modes), "k": self.k,
                "started": self.started, "seconds": round(self.seconds, 2),
                "index_seconds": round(self.index_seconds, 2),
                "load_seconds": {k: round(v, 2) for k, v in self.load_seconds.items()}, "machine": self.machine,
                "settings": self.settings, "recipe": self.recipe}


@dataclass(frozen=True, slots=True)
class EvalRun:
    info: RunInfo
    results: tuple[QuestionResult, ...]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _document_text(assistant: Assistant) -> Callable[[str], str | None]:
    def read(source: str) -> str | None:
        try:
            return assistant.document_text(source)
        except KeyError:
            return None

    return read


def verdict(question: Question, abstained: bool, contains: float | None,
            citations: metrics.CitationScore | None, error: str = "") -> str:
    """PASS, or the first reason the answer fails: a correct answer must also be fully cited and grounded."""
    if error:
        return f"error: {error}"
    if not question.answerable:
        return PASS if abstained else "answered an unanswerable question"
    if abstained:
        return "abstained on an answerable question"
    if not contains:
        return "wrong answer"
    if citations is None or citations.recall is None or citations.recall < 1:
        return "a sentence is not supported by its citations"
    if citations.grounding is None or citations.grounding < 1:
        return "a citation does not match its document text"
    return PASS


def score_answer(question: Question, answer: Answer, generator: str,
                 document_text: Callable[[str], str | None]) -> AnswerOutcome:
    """Every metric for one `qa.answer.Answer` (anything with its attributes) to one question."""
    golds = list(question.answers)
    text = answer.text
    em = f1 = contains = None
    if question.answerable:
        em = 0.0 if answer.abstained else metrics.exact_match(text, golds)
        f1 = 0.0 if answer.abstained else metrics.best_f1(text, golds)
        contains = 0.0 if answer.abstained else metrics.containment(text, golds)
    citations = None
    if not answer.abstained:
        citations = metrics.score_citations(text, answer.citations, golds, document_text)
    conflict_score = None
    if question.type == "conflict":
        conflict_score = 0.0 if answer.abstained else metrics.conflict_reported(
            bool(answer.conflict), text, question.conflicting_answers or question.answers)
    cited = tuple({"marker": c.marker, "source": c.source, "start": c.start, "end": c.end, "text": c.text}
                  for c in answer.citations)
    own = statement = None
    if question.answerable and not answer.abstained:
        own = metrics.cites_source(answer.citations, question.sources or (question.source,))
        if contains and question.evidence:
            statement = metrics.cites_statement(answer.citations, question.evidence)
    return AnswerOutcome(generator, text, bool(answer.abstained), getattr(answer, "reason", ""),
                         bool(answer.conflict), em, f1, contains, citations, conflict_score,
                         dict(answer.timings), cited, verdict(question, answer.abstained, contains, citations),
                         cites_source=own, detail=getattr(answer, "detail", ""), draft=getattr(answer, "draft", ""),
                         checks=tuple((v.check, v.keep) for v in getattr(answer, "checks", ())),
                         check_details=tuple((v.check, v.detail) for v in getattr(answer, "checks", ()) if v.detail),
                         candidate=getattr(answer, "candidate", ""), probability=getattr(answer, "probability", None),
                         signals=tuple(getattr(answer, "signals", {}).items()), calls=getattr(answer, "calls", 0),
                         searches=getattr(answer, "searches", 0), repaired=getattr(answer, "repaired", ""),
                         read=bool(getattr(answer, "read", False)), cites_statement=statement)


def failed_outcome(question: Question, generator: str, error: Exception) -> AnswerOutcome:
    """An answer that raised: it scores zero everywhere (a crash is not an abstention), and the run goes on."""
    message = f"{error.__class__.__name__}: {error}"[:300]
    answerable = question.answerable
    return AnswerOutcome(generator, "", False, message, False, 0.0 if answerable else None,
                         0.0 if answerable else None, 0.0 if answerable else None, None,
                         0.0 if question.type == "conflict" else None, {}, (),
                         verdict(question, False, None, None, message), message, False if answerable else None)


def open_assistant(index_dir: Path, generator: str, config: Config) -> Assistant:
    """An Assistant on the index that answers with `generator` over hybrid retrieval (the product setting)."""
    from qa.assistant import Assistant

    return Assistant(index_dir=index_dir, config=config.with_(generator=generator, retrieval_mode="hybrid"))


def prepare_index(assistant: Assistant, corpus: Path | None, sync: bool) -> IndexReport | None:
    """Add the corpus to the index (incremental: unchanged files are not embedded again)."""
    if corpus is None:
        return None
    if not corpus.is_dir():
        raise FileNotFoundError(f"no corpus folder at {corpus}")
    return assistant.add([corpus], sync=sync)


def run_retrieval(assistant: Assistant, questions: Sequence[Question], modes: Sequence[str], k: int,
                  spans: dict[str, list[tuple[int, int]]], progress: bool) -> dict[str, dict[str, RetrievalOutcome]]:
    """{question id: {mode: outcome}} for the answerable questions."""
    answerable = [q for q in questions if q.answerable]
    outcomes: dict[str, dict[str, RetrievalOutcome]] = {q.id: {} for q in answerable}
    bar = tqdm(total=len(answerable) * len(modes), desc="retrieval", unit="q", disable=not progress, leave=False)
    for mode in modes:
        for q in answerable:
            bar.set_postfix_str(mode)
            try:
                passages = assistant.retrieve(q.question, k=k, mode=mode)
            except Exception:  # noqa: BLE001 - the answer run records the error; here it is simply a miss
                passages = []
            hits = [metrics.is_hit(metrics.Retrieved(p.source, p.text, p.start, p.end), q.evidence, q.source,
                                   spans.get(q.id, [])) for p in passages]
            summary = tuple({"source": p.source, "start": p.start, "end": p.end, "score": round(float(p.score), 5),
                             "hit": hit} for p, hit in zip(passages, hits, strict=True))
            outcomes[q.id][mode] = RetrievalOutcome(mode, metrics.first_hit_rank(hits), summary)
            bar.update()
    bar.close()
    return outcomes


def run_answers(assistant: Assistant, questions: Sequence[Question], generator: str,
                progress: bool) -> dict[str, AnswerOutcome]:
    read = _document_text(assistant)
    outcomes: dict[str, AnswerOutcome] = {}
    if questions:
        try:  # one untimed question first: lazy caches and first-call costs are not per-answer latency
            assistant.ask(questions[0].question)
        except Exception:  # noqa: BLE001, S110 - the timed run below records the error properly
            pass
    for q in tqdm(questions, desc=f"answers ({generator})", unit="q", disable=not progress, leave=False):
        try:
            answer = assistant.ask(q.question)
        except Exception as exc:  # noqa: BLE001 - recorded per question, shown in the report
            outcomes[q.id] = failed_outcome(q, generator, exc)
            continue
        outcomes[q.id] = score_answer(q, answer, generator, read)
    return outcomes


def run_eval(question_set: QuestionSet, index_dir: str | Path, corpus: str | Path | None = None,
             generators: Sequence[str] = ("extractive",), modes: Sequence[str] = MODES, k: int = 10,
             limit: int | None = None, sync: bool = False, progress: bool = True, config: Config | None = None,
             log: Callable[[str], None] = lambda _: None, recipe: dict[str, Any] | None = None) -> EvalRun:
    """Index the corpus, run retrieval in each mode and answers with each generator, score everything.

    `config` (a `qa.config.Config`) sets everything but the index folder, generator and retrieval mode,
    which this function chooses per configuration. `recipe` describes a built set for the report.
    """
    from qa.config import Config

    started = time.perf_counter()
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown retrieval mode {', '.join(unknown)}; known: {', '.join(MODES)}")
    if k < max(RECALL_AT):
        raise ValueError(f"k must be at least {max(RECALL_AT)}: recall is reported at {RECALL_AT}")
    base = config or Config()
    if base.threads:
        import torch

        torch.set_num_threads(base.threads)  # the embedder too, not only the generator: see --threads
    index_dir = Path(index_dir)
    corpus_path = Path(corpus) if corpus is not None else None
    if not generators:
        raise ValueError("name at least one generator")
    mark = time.perf_counter()
    # The first generator's Assistant also runs retrieval: one embedding model load fewer.
    assistant = open_assistant(index_dir, generators[0], base)
    report = prepare_index(assistant, corpus_path, sync)
    if report is not None:
        log(f"index {index_dir}: {report.summary()}")
    index_seconds = time.perf_counter() - mark
    documents = len(assistant.documents())
    questions = question_set.limited(limit).questions

    read = _document_text(assistant)
    spans: dict[str, list[tuple[int, int]]] = {}
    found: dict[str, bool] = {}
    for q in questions:
        text = read(q.source) if q.answerable else None
        spans[q.id] = evidence_spans(text, q.evidence) if text is not None else []
        found[q.id] = (not q.answerable) or bool(spans[q.id])

    retrieval = run_retrieval(assistant, questions, modes, k, spans, progress)
    answers: dict[str, dict[str, AnswerOutcome]] = {}
    load_seconds: dict[str, float] = {}
    for name in generators:
        answering = assistant if name == generators[0] else open_assistant(index_dir, name, base)
        mark = time.perf_counter()
        answering.generator  # noqa: B018 - load now, so that loading neither fails mid-run nor counts as latency
        load_seconds[name] = time.perf_counter() - mark
        log(f"generator {name}: loaded in {load_seconds[name]:.1f} s")
        answers[name] = run_answers(answering, questions, name, progress)

    results = tuple(
        QuestionResult(q, found[q.id], retrieval.get(q.id, {}), {name: answers[name][q.id] for name in generators})
        for q in questions)
    info = RunInfo(str(question_set.path), question_set.sha256, len(questions),
                   limit if len(questions) < len(question_set.questions) else None,
                   str(corpus_path) if corpus_path else None, str(index_dir), documents, tuple(generators),
                   tuple(modes), k, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   time.perf_counter() - started, index_seconds, load_seconds,
                   f"{platform.system()} {platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}",
                   settings(base), dict(recipe or {}))
    return EvalRun(info, results)


def settings(config: Config) -> dict[str, Any]:
    """The Config as plain JSON values, without the per-configuration fields this runner sets itself."""
    data = asdict(config)
    for key in ("generator", "retrieval_mode"):
        data.pop(key, None)
    data["index"] = {k: str(v) if isinstance(v, Path) else v for k, v in data["index"].items() if k != "path"}
    return data


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
