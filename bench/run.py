"""One benchmark run: the stages in order, each guarded (a failure is recorded and the run goes on), the report
written again after each one."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from bench import compute_types, engines, processes, stages
from bench.corpus import BenchCorpus, load_corpus
from bench.machine import is_busy, load_average, machine_info
from bench.report import write
from bench.stages import StageSkipped

STAGES = ("index", "noop", "retrieval", "answers", "naive", "engines", "quality", "start", "rss", "stores", "compute")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Plan:
    """What one run measures, from the command line."""

    out: Path
    stages: tuple[str, ...]  # the stages to run, in STAGES order
    left_out: dict[str, str]  # stage -> why it is not run
    generators: tuple[str, ...]  # answering generators, "default" already resolved
    default_generator: str
    corpus: str = "seeds"
    index_corpus: str = "news"
    news_limit: int | None = None
    embeddings: tuple[str, ...] = processes.EMBEDDINGS
    stores: tuple[str, ...] = ()
    milvus_uri: str | None = None
    quick: bool = False
    cache: Path | None = None
    command: str = "citeqa bench"

    @property
    def warm_runs(self) -> int:
        return 1 if self.quick else 3

    @property
    def served_questions(self) -> int:
        return 3 if self.quick else 10

    @property
    def noop_runs(self) -> int:
        return 1 if self.quick else 3


class BenchRun:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.started = time.perf_counter()
        self._index = None
        self.results: dict[str, Any] = {
            "format": 2, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": plan.command, "quick": plan.quick, "machine": machine_info(),
            "settings": {"generators": list(plan.generators), "default_generator": plan.default_generator,
                         "embeddings": list(plan.embeddings), "stores": list(plan.stores),
                         "index_corpus": plan.index_corpus},
            "stages": {}}

    # -- corpora and the product's index ---------------------------------------------------------------
    @cached_property
    def corpus(self) -> BenchCorpus:
        return load_corpus(self.plan.corpus, self.plan.quick, self.plan.news_limit, self.plan.cache)

    @cached_property
    def index_corpus(self) -> BenchCorpus:
        if self.plan.index_corpus == self.plan.corpus:
            return self.corpus
        return load_corpus(self.plan.index_corpus, self.plan.quick, self.plan.news_limit, self.plan.cache)

    @cached_property
    def product_embedding(self) -> processes.EmbeddingEngine:
        return processes.product_embedding()

    def bulk_dir(self, engine: processes.EmbeddingEngine) -> Path:
        return self.plan.out / f"index-{self.index_corpus.name}-{engine.slug}"

    @cached_property
    def index_dir(self) -> Path:
        """The product's index of --corpus: the bulk index built with the product's engine when it is the same
        corpus (no second build of 10,000 articles), else a folder of its own."""
        if self.plan.index_corpus == self.plan.corpus:
            return self.bulk_dir(self.product_embedding)
        return self.plan.out / f"index-{self.corpus.name}"

    def index(self):
        """The product's index of --corpus (product defaults), brought up to date first; untimed."""
        if self._index is None:
            from index.config import IndexConfig
            from index.corpus import Index

            index = Index(IndexConfig(path=self.index_dir))
            log(f"indexing {self.corpus.folder} into {self.index_dir} (untimed; nothing to do when up to date)")
            index.add([self.corpus.folder], sync=True)
            self._index = index
        return self._index

    def assistant(self, generator: str):
        from index.config import IndexConfig
        from qa.assistant import Assistant
        from qa.config import Config

        return Assistant(config=Config(index=IndexConfig(path=self.index_dir), generator=generator),
                         embedder=self.index().embedder)

    # -- stages ---------------------------------------------------------------------------------------
    def stage(self, name: str, measure: Callable[[], Any]) -> None:
        if name not in self.plan.stages:
            self.results["stages"][name] = {"status": "skipped", "reason": self.plan.left_out.get(name, "")}
            return
        log(f"{name}…")
        loads = [load_average()]
        mark = time.perf_counter()
        record: dict[str, Any] = {"status": "ok"}
        try:
            value = measure()
            if value is not None:
                self.results[name] = value
        except StageSkipped as skip:
            record = {"status": "skipped", "reason": str(skip)}
        except Exception as exc:  # noqa: BLE001 - the report says which stage failed and why; the run goes on
            record = {"status": "failed", "error": f"{exc.__class__.__name__}: {exc}"[:1500],
                      "where": traceback.format_exc(limit=-3)[-1500:]}
            log(f"{name} failed: {exc}")
        loads.append(load_average())
        record.update(seconds=round(time.perf_counter() - mark, 2), load=loads,
                      busy=record["status"] == "ok" and is_busy(loads))
        self.results["stages"][name] = record
        self.write()

    def measure_index(self) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        runnable = []
        for engine in map(processes.parse_embedding, self.plan.embeddings):
            missing = processes.available(engine)
            if missing:
                rows[engine.label] = {"skipped": missing}
            else:
                runnable.append(engine)
        processes.build_model_caches(runnable)
        for engine in runnable:
            log(f"  {engine.label} on {self.index_corpus.documents} documents")
            try:
                rows[engine.label] = processes.bulk_index(self.index_corpus.folder, self.bulk_dir(engine), engine)
                log(f"  {engine.label}: {rows[engine.label]['chunks_per_s']} chunks/s")
            except Exception as exc:  # noqa: BLE001 - the other engines are still worth measuring
                rows[engine.label] = {"error": f"{exc.__class__.__name__}: {exc}"[:600]}
        if rows and all("error" in r for r in rows.values()):
            raise RuntimeError(next(iter(rows.values()))["error"])
        emulated = not self.results["machine"]["amx"] and any("torch bfloat16" in label for label in rows)
        return {"corpus": self.index_corpus.name, "documents": self.index_corpus.documents, "engines": rows,
                "product_engine": self.product_embedding.label,
                "note": "This CPU has no AMX: torch bfloat16 is emulated" if emulated else ""}

    def measure_noop(self) -> dict[str, Any]:
        from index.faiss_store import read_current

        candidates = [self.bulk_dir(self.product_embedding)]
        candidates += [self.bulk_dir(processes.parse_embedding(spec)) for spec in self.plan.embeddings]
        built = next((d for d in candidates if read_current(d) is not None), None)
        if built is None:
            raise StageSkipped(f"no index of the {self.index_corpus.name} corpus in {self.plan.out}: run the index "
                               "stage first")
        return processes.noop_reindex(self.index_corpus.folder, built, self.plan.noop_runs)

    def measure_retrieval(self) -> dict[str, Any]:
        from qa.config import Config

        defaults = Config()
        return stages.retrieval(self.index(), list(self.corpus.queries), defaults.top_k, defaults.retrieval_mode)

    def measure_answers(self) -> dict[str, Any]:
        with_naive = "naive" in self.plan.stages
        rows, naive = stages.answers(self.assistant, list(self.plan.generators), self.corpus, with_naive,
                                     self.index().embedder, log)
        self.results["naive"] = naive
        return rows

    def naive_status(self) -> None:
        """The baseline runs inside the answers stage, question by question; its status follows from it."""
        if "naive" not in self.plan.stages:
            self.results["stages"]["naive"] = {"status": "skipped", "reason": self.plan.left_out.get("naive", "")}
            return
        answers = dict(self.results["stages"].get("answers") or {})
        if answers.get("status") == "ok" and not self.results.get("naive"):
            answers = {**answers, "status": "skipped", "reason": "no language-model generator in --generator"}
        elif answers.get("status") != "ok":
            answers = {**answers, "reason": f"the answers stage {answers.get('status')}: the baseline runs beside it"}
        self.results["stages"]["naive"] = answers

    def measure_engines(self) -> dict[str, Any]:
        models = stages.lm_generators(list(self.plan.generators))
        if not models:
            raise StageSkipped("no language-model generator in --generator")
        return engines.compare_engines(models, self.plan.quick, log)

    def measure_quality(self) -> dict[str, Any]:
        generator = stages.pick(list(self.plan.generators), self.plan.default_generator)
        if generator is None:
            raise StageSkipped("no language-model generator in --generator")
        folder = self.index_dir if self.plan.corpus == "seeds" else self.plan.out / "index-seeds"
        return stages.quality(generator, folder, self.plan.quick, log)

    def per_generator(self, measure: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        """`measure` for each language-model generator (the first generator when there is none)."""
        self.index()  # the child processes read the product's index
        names = stages.lm_generators(list(self.plan.generators)) or list(self.plan.generators[:1])
        rows: dict[str, Any] = {}
        for name in names:
            try:
                rows[name] = measure(name)
            except Exception as exc:  # noqa: BLE001 - the next generator is still worth measuring
                rows[name] = {"error": f"{exc.__class__.__name__}: {exc}"[:600]}
                log(f"  {name} failed: {exc}")
        if all("error" in r for r in rows.values()):
            raise RuntimeError("; ".join(f"{n}: {r['error']}" for n, r in rows.items()))
        return rows

    def measure_start(self) -> dict[str, Any]:
        question = self.corpus.questions[0].text

        def start(name: str) -> dict[str, Any]:
            row = processes.warm_start(self.index_dir, name, question, self.plan.warm_runs)
            return {**row, "breakdown": processes.start_breakdown(self.index_dir, name, question, self.plan.warm_runs)}

        return self.per_generator(start)

    def measure_rss(self) -> dict[str, Any]:
        questions = [q.text for q in self.corpus.questions[:self.plan.served_questions]]
        return self.per_generator(lambda name: processes.serving_rss(self.index_dir, name, questions))

    def measure_stores(self) -> dict[str, Any]:
        return stages.store_comparison(list(self.plan.stores), self.corpus, self.plan.out, self.index().embedder, log,
                                       self.plan.milvus_uri)

    # -- the run --------------------------------------------------------------------------------------
    def write(self) -> tuple[Path, Path]:
        self.results["seconds"] = round(time.perf_counter() - self.started, 1)
        return write(self.results, self.plan.out)

    def run(self) -> tuple[Path, Path]:
        self.results["corpus"] = self.corpus.describe()
        log(f"corpus {self.corpus.name}: {self.corpus.documents} documents, {len(self.corpus.questions)} questions, "
            f"{len(self.corpus.queries)} queries; stages {', '.join(self.plan.stages)}")
        self.stage("index", self.measure_index)
        self.stage("noop", self.measure_noop)
        self.stage("retrieval", self.measure_retrieval)
        self.stage("answers", self.measure_answers)
        self.naive_status()
        self.stage("engines", self.measure_engines)
        self.stage("quality", self.measure_quality)
        self.stage("start", self.measure_start)
        self.stage("rss", self.measure_rss)
        self.stage("stores", self.measure_stores)
        self.stage("compute", lambda: compute_types.measure(self.plan.out, log))
        self.results["machine"]["load_average_end"] = load_average()
        if self._index is not None:
            self._index.close()
        return self.write()
