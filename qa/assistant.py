"""The Python API: `Assistant` runs the steps of `qa.steps` over one working set per answer.

understand → retrieve → select → prompt → generate → rewrite and cite → judge (verifying when it
matters) → repair → conflict.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from index.corpus import Index
from index.documents import IndexReport, Passage
from index.backend import DocumentInfo
from qa.analysis import Form
from qa.answer import Answer, Citation
from qa.citing import render
from qa.config import Config
from qa.errors import QuestionError
from qa.evidence import EvidenceSelector
from qa.followup import OTHER_SOURCE
from qa.generators import Generator, load_generator
from qa.judge import Judge
from qa.longform import Check, Choose, Compose, render_parts
from qa.steps import (
    BuildPrompt,
    Cite,
    Complete,
    Conflict,
    DecideYesNo,
    Generate,
    JudgeStep,
    Reader,
    Repair,
    Retrieve,
    Select,
    Step,
    Support,
    Understand,
    Verify,
)
from qa.verifier import Verifier
from qa.work import History, Work

log = logging.getLogger("citeqa.qa")
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
MAX_QUESTION_CHARS = 2000
ABSTENTION = "The documents don't say."


def clean_question(question: Any) -> str:
    """Reject what cannot be a question; drop control characters that only confuse tokenizers."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = "".join(c if unicodedata.category(c)[0] != "C" or c in "\n\t" else " " for c in question)
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty: ask something about your documents")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}")
    return text


ALWAYS = ("understand", "retrieve", "select", "prompt", "generate", "cite", "support", "judge")


class Assistant:
    """Answers questions from an index with citations to exact sentences, or says the documents don't say.

    With no arguments it uses the default index folder, built from the seed articles on first use, and
    the default generator. Its parts can be given instead: an `index`, an `embedder` to share, a
    `generator`, the `judge`. Models load on first need; one Assistant serves many threads.
    """

    def __init__(self, index_dir: str | Path | None = None, generator: str | Generator | None = None,
                 config: Config | dict[str, Any] | None = None, embedder: Any = None, index: Index | None = None,
                 judge: Judge | None = None, **overrides: Any) -> None:
        if isinstance(config, dict):
            config = Config.from_dict(config)
        config = config or Config()
        if index_dir is not None:
            config = config.with_(index=config.index.with_(path=Path(index_dir)))
        loaded = generator if generator is not None and not isinstance(generator, str) else None
        if isinstance(generator, str):
            overrides["generator"] = generator
        elif loaded is not None:
            overrides["generator"] = loaded.name
        self.config = config.with_(**overrides) if overrides else config
        self.index = index or Index(self.config.index, embedder=embedder)  # pass one Embedder to share it
        self.judge = judge or Judge(threshold=self.config.judge_threshold, record_only=not self.config.judge)
        self.selector = EvidenceSelector(self.index.embed)
        self._generator: Generator | None = loaded
        self._verifier: Verifier | None = None
        self._generate_lock = threading.Lock()
        self._load_lock = threading.Lock()

    # -- documents -----------------------------------------------------------------------------
    def add(self, paths: list[str | Path] | str | Path, rebuild: bool = False, sync: bool = False,
            progress: bool = False, source_prefix: str = "") -> IndexReport:
        paths = [paths] if isinstance(paths, str | Path) else list(paths)
        return self.index.add(paths, rebuild=rebuild, sync=sync, progress=progress, source_prefix=source_prefix)

    def remove(self, source: str) -> IndexReport:
        return self.index.remove([source])

    def documents(self) -> list[DocumentInfo]:
        self._ensure_index()
        return self.index.documents()

    def document_text(self, source: str) -> str:
        """A document's text in the live generation: citations' offsets index into it."""
        document = self.index.document(source)
        if document is None:
            raise KeyError(f"not in the index: {source}")
        return document.text

    def with_generator(self, generator: str | Generator) -> Assistant:
        """Another Assistant over the same index (and its loaded embedder), answering with another generator:
        a name, or a generator object (a slowed one in a test, one loaded elsewhere)."""
        return Assistant(config=self.config, index=self.index, judge=self.judge, generator=generator)

    def _ensure_index(self) -> None:
        """The seed articles are the default corpus: index them on first use of an empty default index."""
        if self.index.exists:
            return
        with self._load_lock:
            if not self.index.exists:
                log.warning("no index at %s yet: indexing the seed articles from %s", self.index.root, SEEDS)
                self.index.add([SEEDS], progress=True)

    # -- retrieval -----------------------------------------------------------------------------
    def retrieve(self, question: str, k: int | None = None, mode: str | None = None) -> list[Passage]:
        question = clean_question(question)
        self._ensure_index()
        return self.index.search(question, k or self.config.top_k, mode or self.config.retrieval_mode)

    # -- answering -----------------------------------------------------------------------------
    @property
    def generator(self) -> Generator:
        if self._generator is None:
            with self._load_lock:
                if self._generator is None:
                    c = self.config
                    self._generator = load_generator(c.generator, c.max_new_tokens, c.dtype, c.threads, c.engine,
                                                     c.compute_type, keep_intermediate=c.keep_intermediate)
        return self._generator

    @property
    def verifier(self) -> Verifier | None:
        """The answer verifier, loaded on first need (None when `Config.verifier` is off)."""
        if self._verifier is None and self.config.verifier:
            with self._load_lock:
                if self._verifier is None:
                    self._verifier = Verifier()
        return self._verifier

    def ask(self, question: str, history: History | None = None, k: int | None = None) -> Answer:
        *_, answer = self.stream(question, history=history, k=k)
        return answer

    def long_steps(self, generator: Generator, top_k: int | None = None) -> list[Step]:
        """The steps of an answer of several cited sentences (`qa.longform`), after `understand`."""
        c = self.config
        return [Retrieve(self.index, top_k or c.top_k, 1, c.retrieval_mode),
                Select(self.selector, c.min_relevance), Choose(self.selector, c.long_sentences, c.long_floor, following=c.long_following,
                                                     anchors=c.long_anchors, quoted=c.long_quoted),
                Compose(generator, self._generate_lock, c.long_answer), Check()]

    def steps(self, generator: Generator, top_k: int | None = None) -> list[Step]:
        """The steps of one answer, as `Config.steps` switches them."""
        c, lock, verifier = self.config, self._generate_lock, self.verifier
        verify = Verify(generator, lock)
        drafting: list[Step] = [Generate(generator, lock), DecideYesNo(c.yes_threshold), Cite(c.min_support),
                                Complete(), Support(verifier, self.selector, c.min_support),
                                Reader(),
                                JudgeStep(self.judge, generator, verify, "verify" in c.steps)]
        drafting = [s for s in drafting if s.name in c.steps or s.name in ALWAYS]
        prompt = BuildPrompt(generator, self.selector, c.context, c.evidence_tokens, c.max_evidence)
        steps = [Understand(), Retrieve(self.index, top_k or c.top_k, c.conflict_depth, c.retrieval_mode),
                 Select(self.selector, c.min_relevance), prompt, *drafting,
                 Repair(generator, self.judge, drafting, self.index, self.selector, prompt),
                 Conflict(self.selector, generator, lock, verify, self.judge, c.conflict_margin, top_k or c.top_k,
                          verifier)]
        return [s for s in steps if s.name in c.steps or s.name in ALWAYS]

    def stream(self, question: str, history: History | None = None, k: int | None = None) -> Iterator[str | Answer]:
        """Text pieces as the generator writes them, then the final, cited Answer.

        Closing this iterator (a reader's Stop) stops the generator within a token.
        """
        work = Work(clean_question(question), list(history or []))
        self._ensure_index()
        generator = self.generator
        understand, *short = self.steps(generator, k)
        mark = time.perf_counter()
        list(understand.run(work))
        work.mark(understand.name, mark)
        long = work.analysis.form is Form.EXPLAIN and self.config.long_answer != "off"
        for step in self.long_steps(generator, k) if long else short:
            if work.rejected is not None and not getattr(step, "after_rejection", False):
                continue
            mark = time.perf_counter()
            yield from step.run(work)
            work.mark(step.name, mark)
        work.timings["total"] = time.perf_counter() - work.started
        yield self._answer(work, generator)

    @staticmethod
    def _answer(work: Work, generator: Generator) -> Answer:
        rejected = work.rejected
        text, citations = "", ()
        if rejected is not None:
            text = ABSTENTION
        elif work.parts:
            text, citations = render_parts(work.parts, listed=all(len(p.cited) == 1 and p.text == p.cited[0].text
                                                                   for p in work.parts))
        elif work.claim is not None:
            text, citations = render(work.claim)
            if work.conflict is not None:
                evidence, other = work.conflict
                marker = len(citations) + 1
                citations += (Citation.of(evidence, marker),)
                text = f"{text.rstrip('.')}. {OTHER_SOURCE}: {other.rstrip('.')} [{marker}]."
        return Answer(work.question, text, citations, rejected is not None, work.passages, dict(work.timings),
                      work.conflict is not None and rejected is None, work.asked, generator.name,
                      rejected.reason if rejected else "", rejected.detail if rejected else "", tuple(work.verdicts),
                      work.draft, generator.engine, work.confidence, work.probability,
                      work.claim.text if work.claim is not None else work.answer, dict(work.signals), work.calls,
                      work.searches, work.repaired, work.read)
