"""All settings of the answering pipeline in one place, buildable from one plain dict (txtai style)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from index.config import IndexConfig

# The steps of an answer that can be switched off (qa.steps); the others always run.
OPTIONAL_STEPS = ("yes_no", "complete", "reader", "verify", "repair", "conflict")
# `verify` (the verification prompt whenever it could change the judge's decision) is off by default: on the
# held-out general half it cost one question of containment and one of answerable abstention, and 0.58 model
# calls an answer; on the seeds it paid one or two questions (docs/quality.md, the step ablation).
# `reader` (a span the verifier reads as better stated replaces the draft) is off too: on the general tune half
# it replaced 42 of 250 drafts, turned 10 right answers wrong for 3 wrong ones right, and answered 23 questions
# the documents do not answer (docs/quality.md).
DEFAULT_STEPS = tuple(s for s in OPTIONAL_STEPS if s not in ("verify", "reader"))


@dataclass(frozen=True, slots=True)
class Config:
    index: IndexConfig = field(default_factory=IndexConfig)
    generator: str = "default"  # "default", "extractive", a hub id, a model folder or a .gguf file
    top_k: int = 5  # passages retrieved
    retrieval_mode: str = "hybrid"  # "hybrid", "dense" or "keyword"
    max_evidence: int = 8  # sentences offered to the generator as numbered sources
    evidence_tokens: int = 250  # prompt budget of the context, in the generator's tokens
    max_new_tokens: int = 48
    # How a language model runs: "auto" converts it to CTranslate2 int8 once (3x faster than torch here,
    # no torch import when answering) and falls back to transformers/torch for types it cannot convert.
    engine: str = "auto"  # "auto", "ctranslate2" or "torch"
    # Of CTranslate2: "auto" takes the first of int8, int8_float32, float32 that this CPU offers
    # (index.compute); a type set by hand that the CPU lacks is refused, naming the CPU and its types.
    compute_type: str = "auto"
    dtype: str = "bfloat16"  # of the torch engine (and of the transformers folder a conversion starts from)
    # The transformers folder a packaged or .gguf model is dequantised to on its way to CTranslate2 (3.5 GB for
    # the default) is deleted once the converted folder is verified; True keeps it (for --engine torch).
    keep_intermediate: bool = False
    threads: int | None = None  # torch threads; None lets torch decide
    min_relevance: float = 0.55  # below this best-sentence score, retrieval found nothing relevant
    conflict_margin: float = 0.35  # how close to the best a disagreeing sentence must score to be reported
    conflict_depth: int = 4  # one search retrieves top_k × this: the rest is where another answer is looked for
    # What the generator reads: "windows" (the best sentences with their neighbours, under their documents'
    # titles) or "sentences" (the best single sentences, numbered). Citations are found among the retrieved
    # passages' sentences either way.
    context: str = "windows"
    min_support: float = 1.0  # share of an answer's key content a cited sentence (or two) must state
    # A yes/no question is answered yes only when "yes" holds this share of the generator's yes-or-no
    # probability (qa.assistant.decide_yes_no; calibrated on HotpotQA dev questions for the Qwen models).
    yes_threshold: float = 0.9
    # The optional steps that run, by name (qa.steps); measured one by one on both sets: README.
    steps: tuple[str, ...] = DEFAULT_STEPS
    # The answer judge (qa.judge): False records its probability without withholding anything (how its
    # training data is made); judge_threshold overrides the trained threshold.
    judge: bool = True
    judge_threshold: float | None = None
    # The answer verifier (qa.verifier): False leaves its signal out (the judge then weighs the others alone).
    verifier: bool = True
    # Why, how, describe, summarise and what-did-X-say questions get an answer of several cited sentences
    # (qa.longform): "quote" lists the sentences that answer in the documents' own words; "select" has the
    # generator pick them from a larger pool first, "compose" has it write them (each checked against what it
    # cites); "off" answers them like any other question. On the tune halves, points covered (seeds / news):
    # quote 55.1% / 33.6% in 0.1 s, select 57.1% / 33.6% in 3.7 s, compose 30.6% (a third of its sentences
    # unsupported) in 7.7 s: quoting is the default (docs/quality.md).
    long_answer: str = "quote"
    long_sentences: int = 6  # at most, in a long answer
    long_following: int = 1  # sentences after each of the best few that a long answer may draw on too
    long_floor: float = 0.6  # a long answer's sentences score at least this share of the best one's
    long_quoted: int = 3  # sentences of a quote or a list that goes on after one of the best, a long answer may draw on
    long_anchors: int = 3  # how many of the best sentences a long answer may follow on from

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError("top_k must be at least 1")
        if self.max_evidence < 1:
            raise ValueError("max_evidence must be at least 1")
        if self.dtype not in {"bfloat16", "float32"}:
            raise ValueError("dtype must be bfloat16 or float32")
        if self.engine not in {"auto", "ctranslate2", "torch"}:
            raise ValueError(f"engine must be auto, ctranslate2 or torch, not {self.engine!r}")
        if self.compute_type not in {"auto", "int8", "int8_float32", "int16", "float32"}:
            raise ValueError(f"compute_type must be auto, int8, int8_float32, int16 or float32, "
                             f"not {self.compute_type!r}")
        if self.context not in {"windows", "sentences"}:
            raise ValueError(f"context must be windows or sentences, not {self.context!r}")
        if not 0.0 < self.yes_threshold < 1.0:
            raise ValueError("yes_threshold must be between 0 and 1")
        if not 0.0 <= self.min_support <= 1.0:
            raise ValueError("min_support must be between 0 and 1")
        unknown = set(self.steps) - set(OPTIONAL_STEPS)
        if unknown:
            raise ValueError(f"unknown steps: {', '.join(sorted(unknown))}; "
                             f"optional steps: {', '.join(OPTIONAL_STEPS)}")
        if self.judge_threshold is not None and not 0.0 <= self.judge_threshold <= 1.0:
            raise ValueError("judge_threshold must be between 0 and 1")
        if self.long_answer not in {"quote", "select", "compose", "off"}:
            raise ValueError(f"long_answer must be quote, select, compose or off, not {self.long_answer!r}")
        if self.long_sentences < 1:
            raise ValueError("long_sentences must be at least 1")
        if self.conflict_depth < 1:
            raise ValueError("conflict_depth must be at least 1")
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        values = dict(values)
        if "steps" in values:
            values["steps"] = tuple(values["steps"])
        index = values.pop("index", {})
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        index_config = index if isinstance(index, IndexConfig) else IndexConfig.from_dict(index)
        return cls(index=index_config, **values)

    def with_(self, **changes: Any) -> Config:
        return replace(self, **changes)
