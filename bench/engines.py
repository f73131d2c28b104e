"""Engines side by side: each language model on CTranslate2 int8 and on torch bfloat16, on the same prompts.

The prompts are the ones of /work/shared/MODELS.md's speed table: a chat prompt of about 450 tokens built from
a seed article, greedy, 16 new tokens, p50 of 5 runs. The first asks for a summary, so that the model writes
all 16 tokens; the others are seed questions, whose answers must come out the same on both engines.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from bench.corpus import seed_articles
from bench.timing import percentiles

ENGINES = ("ctranslate2", "torch")  # int8 and bfloat16: the defaults of qa.generators.load_generator
PROMPT_TOKENS = 450
NEW_TOKENS = 16
SYSTEM = "Answer the question with a short answer using only the context."
SUMMARY = "Summarise what the context says in three sentences."

Message = dict[str, str]


def _excerpt(paragraphs: list[str], start: int, fits: Callable[[str], bool]) -> str:
    """Consecutive paragraphs from `start` (wrapping around) while the prompt still fits."""
    chosen: list[str] = []
    for n in range(len(paragraphs)):
        candidate = "\n".join([*chosen, paragraphs[(start + n) % len(paragraphs)]])
        if chosen and not fits(candidate):
            break
        chosen = candidate.split("\n")
    return "\n".join(chosen)


def _messages(context: str, question: str) -> list[Message]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Context:\n{context}\n\nQuestion: {question}"}]


def build_prompts(measure: Callable[[list[Message]], int], count: int,
                  budget: int = PROMPT_TOKENS) -> list[list[Message]]:
    """`count` chat prompts of at most `budget` tokens as `measure` counts them: a summary request, then seed
    questions on their article, each with as many of its article's paragraphs as fit."""
    from eval.dataset import load_set

    articles = seed_articles()
    by_source: dict[str, list[str]] = {}
    for q in load_set().questions:
        if q.answerable and q.source:
            by_source.setdefault(q.source, []).append(q.question)
    prompts = []
    for n in range(count):
        name, text = articles[n % len(articles)]
        asked = by_source.get(name) or [SUMMARY]
        question = SUMMARY if n == 0 else asked[(n // len(articles)) * 7 % len(asked)]
        paragraphs = [p.strip() for p in text.splitlines() if p.strip()]
        context = _excerpt(paragraphs, 3 * n, lambda c, q=question: measure(_messages(c, q)) <= budget)
        prompts.append(_messages(context, question))
    return prompts


def _run(generator, messages: list[Message]) -> tuple[str, float, float | None]:
    """The answer, seconds to its end and seconds to its first piece."""
    started = time.perf_counter()
    first = None
    pieces = []
    for piece in generator.stream_messages(messages):
        if first is None:
            first = time.perf_counter() - started
        pieces.append(piece.text)
    return "".join(pieces).strip(), time.perf_counter() - started, first


def prompt_tokens(generator, messages: list[Message]) -> int:
    """The rendered prompt's length (`LanguageModelGenerator.prompt_length`)."""
    return generator.prompt_length(messages)


def measure_engine(name: str, engine: str, prompts: list[list[Message]], runs: int) -> dict[str, Any]:
    """One model on one engine: load time, `runs` timed generations of the first prompt, every prompt's answer."""
    from qa.generators import load_generator

    mark = time.perf_counter()
    generator = load_generator(name, max_new_tokens=NEW_TOKENS, engine=engine)
    row: dict[str, Any] = {"engine": generator.engine, "load_seconds": round(time.perf_counter() - mark, 2)}
    try:
        first_answer = _run(generator, prompts[0])[0]  # untimed: first-call costs are not generation speed
        timed = [_run(generator, prompts[0]) for _ in range(runs)]
        answers = [first_answer] + [_run(generator, p)[0] for p in prompts[1:]]
        row.update({"new_tokens": generator.count_tokens(first_answer),
                    "total": percentiles([t for _, t, _ in timed]),
                    "first_piece": percentiles([f for _, _, f in timed if f is not None]),
                    "answers": answers})
    finally:
        del generator
        gc.collect()
    return row


def compare_engines(generators: list[str], quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Each model on each engine, and how many prompts both engines answered alike; a failing engine is recorded
    in its row, not fatal."""
    from qa.generators import load_generator

    runs, count = (2, 2) if quick else (5, 5)
    counter = load_generator(generators[0], max_new_tokens=NEW_TOKENS)  # Qwen's tokenizer is the same for all
    prompts = build_prompts(lambda messages: prompt_tokens(counter, messages), count)
    results: dict[str, Any] = {"runs": runs, "new_tokens_max": NEW_TOKENS,
                               "prompt_tokens": [prompt_tokens(counter, p) for p in prompts], "models": {}}
    del counter
    for name in generators:
        rows: dict[str, Any] = {}
        for engine in ENGINES:
            try:
                rows[engine] = measure_engine(name, engine, prompts, runs)
                log(f"  {name} on {rows[engine]['engine']}: p50 {rows[engine]['total']['p50']:.2f} s")
            except Exception as exc:  # noqa: BLE001 - the other engine is still worth measuring
                rows[engine] = {"error": f"{exc.__class__.__name__}: {exc}"[:600]}
                log(f"  {name} on {engine} failed: {exc}")
        answers = [r["answers"] for r in rows.values() if "answers" in r]
        model: dict[str, Any] = {"engines": rows, "prompts": len(prompts)}
        if len(answers) == len(ENGINES):
            same = [a == b for a, b in zip(*answers, strict=True)]
            model.update(identical=sum(same), differing=[n for n, s in enumerate(same) if not s])
        results["models"][name] = model
    return results
