"""`citeqa eval`: run a question set against a corpus and write the report, the results and the plots.

With no arguments it measures the packaged seeds set on the repository's seed articles, indexed into
a folder under --out, so a fresh clone needs nothing else. `--set halueval` builds (once) and measures
a set of HotpotQA questions from HaluEval-QA dev rows on about 1,000 Wikipedia passages (`eval.halueval_set`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eval.dataset import DEFAULT_SET

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "seeds"
DEFAULT_OUT = Path("eval-out")
HALUEVAL = "halueval"
SET_FLAGS = ("answerable", "unanswerable", "near_miss", "passages", "seed")  # SetSpec fields, for --set halueval only


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="set_path", metavar="FILE|halueval|longform|longform-news",
                        help=f"JSONL question set, `{HALUEVAL}` for the HotpotQA dev set built from HaluEval-QA, "
                             "`longform` for why/how/summary questions on the seed articles or `longform-news` for "
                             f"summary questions on CNN/DailyMail articles (default: the packaged seeds set, "
                             f"{DEFAULT_SET.name})")
    parser.add_argument("--corpus", metavar="DIR", type=Path,
                        help="folder of documents to index before the run (default: the seed articles; with "
                             "--index and no --corpus, the index is evaluated as it is)")
    parser.add_argument("--index", metavar="DIR", type=Path, help="index folder (default: OUT/index)")
    parser.add_argument("--generator", nargs="+", metavar="NAME", dest="generators",
                        help="generators to compare: extractive, default, a model folder or .gguf "
                             "(default: extractive)")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help=f"where report.md, results.json and the plots go (default: {DEFAULT_OUT}/, "
                             f"{DEFAULT_OUT / HALUEVAL}/ for --set {HALUEVAL})")
    parser.add_argument("--limit", metavar="N", type=int, help="only the first N questions (quick runs)")
    parser.add_argument("--k", type=int, default=10, help="passages retrieved per mode, at least 10 (default 10)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="torch threads (default: torch decides); 1 is much faster on a busy shared machine")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--config", action="append", dest="settings", metavar="KEY=VALUE",
                        help="an answering setting (qa.config.Config), e.g. --config engine=torch --config "
                             "index.top_k=8 --config steps=yes_no,complete,verify,repair,conflict (steps= for none)")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when a question regressed or a score dropped since the previous run")
    from eval.halueval import SetSpec

    group = parser.add_argument_group(f"--set {HALUEVAL}", "how the set is drawn (built once per choice, then reused)")
    group.add_argument("--answerable", type=int, metavar="N",
                       help=f"questions whose passage is indexed (default {SetSpec().answerable})")
    group.add_argument("--unanswerable", type=int, metavar="N",
                       help=f"questions whose passage is left out (default {SetSpec().unanswerable})")
    group.add_argument("--near-miss", type=int, metavar="N", dest="near_miss",
                       help="questions whose passage is indexed with every sentence that states the answer removed "
                            f"(default {SetSpec().near_miss})")
    group.add_argument("--passages", type=int, metavar="N",
                       help=f"documents indexed in all, distractors included (default {SetSpec().passages})")
    group.add_argument("--half", choices=("tune", "check", "both"),
                       help="draw questions from the tune (even rows) or check (odd rows) half of the dev rows "
                            f"(default {SetSpec().half}); on any other set, the even or odd question ids")
    group.add_argument("--seed", type=int, metavar="N", help=f"seed of the draw (default {SetSpec().seed})")


def named_set(args: argparse.Namespace) -> str | None:
    """The built set's name when --set names one rather than a file."""
    value = getattr(args, "set_path", None)
    return HALUEVAL if value is not None and str(value) == HALUEVAL else None


def output_folder(args: argparse.Namespace) -> Path:
    out = getattr(args, "out", None)
    if out is not None:
        return Path(out)
    return DEFAULT_OUT / HALUEVAL if named_set(args) else DEFAULT_OUT


def set_spec(args: argparse.Namespace):
    """The `eval.halueval.SetSpec` the flags ask for; the flags are an error with any other set."""
    from eval.halueval import SetSpec

    given = {name: getattr(args, name, None) for name in SET_FLAGS if getattr(args, name, None) is not None}
    if named_set(args) is None:
        if given:
            raise ValueError(f"{', '.join('--' + n for n in given)} only apply to --set {HALUEVAL}")
        return None
    if getattr(args, "half", None) is not None:
        given["half"] = args.half
    if getattr(args, "corpus", None) is not None:
        raise ValueError(f"--set {HALUEVAL} builds its own corpus: leave out --corpus")
    return SetSpec(**given)


def resolve_sources(args: argparse.Namespace) -> tuple[Path, Path | None, bool]:
    """(index folder, corpus to add or None, whether to sync the index to the corpus).

    An index under --out belongs to the evaluation, so it follows the corpus exactly (sync). A user's
    own --index is only added to, never pruned, and with no --corpus it is measured as it is.
    """
    corpus = getattr(args, "corpus", None)
    index = getattr(args, "index", None)
    if index is None:
        return output_folder(args) / "index", Path(corpus) if corpus else DEFAULT_CORPUS, True
    index = Path(index)
    if corpus is not None:
        return index, Path(corpus), False
    from index.faiss_store import read_current

    return index, (None if read_current(index) is not None else DEFAULT_CORPUS), False


def main(args: argparse.Namespace) -> int:
    from eval.longform import SETS

    if str(getattr(args, "set_path", None)) in SETS:
        from eval import longform

        return longform.main(args)
    from eval.dataset import load_set
    from eval.report import summary_text, write_run
    from eval.runner import run_eval

    limit = getattr(args, "limit", None)
    if limit is not None and limit < 1:
        raise ValueError("--limit must be at least 1")
    generators = list(dict.fromkeys(getattr(args, "generators", None) or ["extractive"]))
    progress = not getattr(args, "no_progress", False) and sys.stderr.isatty()
    out = output_folder(args)

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    spec = set_spec(args)
    recipe = None
    if spec is not None:
        from eval.halueval_set import build

        built = build(out, spec, log=log)
        question_set, recipe = load_set(built.set_path), built.recipe()
        index, _, sync = resolve_sources(args)
        corpus = built.documents
    else:
        # validated before any model loads; --half keeps the even (tune) or odd (check) question ids
        question_set = load_set(getattr(args, "set_path", None)).half(getattr(args, "half", None))
        index, corpus, sync = resolve_sources(args)

    from qa.config import Config
    from qa.flags import parse_settings

    settings = parse_settings(getattr(args, "settings", None) or [])
    threads = getattr(args, "threads", None)
    if threads is not None:
        if threads < 1:
            raise ValueError("--threads must be at least 1")
        settings["threads"] = threads
    config = Config.from_dict(settings) if settings else None
    run = run_eval(question_set, index, corpus, generators, k=getattr(args, "k", 10), limit=limit, sync=sync,
                   progress=progress, config=config, log=log, recipe=recipe)
    written = write_run(run, out)
    print(summary_text(written.document))
    comparison = written.comparison
    if comparison is not None:
        print(f"\nvs previous run: {len(comparison.regressions)} regressions, {len(comparison.drops)} score drops, "
              f"{len(comparison.fixes)} fixes")
    print(f"\nreport: {written.report}\nresults: {written.results}\nplots: "
          + ", ".join(str(p) for p in written.plots))
    if getattr(args, "strict", False) and comparison is not None and comparison.regressed:
        return 1
    return 0


def run_cli(argv: list[str] | None = None) -> int:
    """`python -m eval.cli`: the same command without the citeqa front door."""
    from index.runtime import go_offline

    go_offline()
    parser = argparse.ArgumentParser(prog="citeqa eval", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(run_cli())
