"""Helpers shared by several test files: hand-made fixtures and process handling."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eval.halueval import Row

REPO = Path(__file__).resolve().parents[1]


def write_corpus(folder: Path, articles: dict[str, str]) -> Path:
    """A folder of small articles, one file per name."""
    folder.mkdir(parents=True)
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@dataclass(frozen=True)
class Cite:
    """A citation as eval.metrics reads one (the fields of qa.answer.Citation)."""

    marker: int
    source: str
    text: str
    start: int
    end: int


# -- invented HaluEval-QA rows: glassblowers in made-up towns ---------------------------------------------
FIRST = ["Ada", "Bram", "Cora", "Dov", "Elin", "Fenn", "Gus", "Hana", "Ivo", "Jora"]
LAST = ["Brennok", "Casmire", "Dunhollow", "Esterly", "Farrowby", "Gillane"]


def glassblower(n: int) -> tuple[str, str]:
    return f"{FIRST[n % len(FIRST)]} {LAST[n // len(FIRST)]}", f"Tarvik{n}"


def invented_rows(count: int) -> list[Row]:
    """Row n: a glassblower and the town they live in (the answer), two paragraphs joined with no space."""
    rows = []
    for n in range(count):
        name, town = glassblower(n)
        rows.append(Row(n, f"{name} (born {1900 + n}) is a glassblower.{name} lives in {town}.",
                        f"In which town does the glassblower {name} live?", town))
    return rows


def write_jsonl(path: Path, rows: list[Row]) -> Path:
    """The rows as a HaluEval-QA data file."""
    records = [{"knowledge": r.knowledge, "question": r.question, "right_answer": r.right_answer,
                "hallucinated_answer": "invented"} for r in rows]
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def minimal_pdf(pages: list[str]) -> bytes:
    """A small valid PDF with one line of text per page, written by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>")
    font = 3 + 2 * len(pages)
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def stop(process: subprocess.Popen) -> None:
    """Terminate a server started by a test, and kill it if it does not stop in time."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen | None = None, log: Path | None = None,
                  timeout: float = 90) -> None:
    """Until `url` answers 200; fails early, with the log's tail, if `process` exits first."""
    tail = (lambda: f":\n{log.read_text()[-3000:]}") if log else (lambda: "")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"citeqa chat exited with {process.returncode}{tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"citeqa chat did not answer on {url} within {timeout:.0f} s{tail()}")


@contextlib.contextmanager
def chat_server(index: Path, log: Path, *flags: str) -> Iterator[tuple[str, int]]:
    """The real `citeqa chat` command (extractive generator) in a child process: (base url, port) once it answers."""
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "citeqa.cli", "chat", "--index", str(index), "--generator", "extractive",
             "--port", str(port), *flags],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/", process, log)
        yield url, port
    finally:
        stop(process)


# -- the chat in a real browser -----------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FINISHED = "#cq-chat .cq-answer:not(.cq-streaming), #cq-chat .cq-error"


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium with `apt-get install -y chromium` "
                    "(or `make browser`)")


@contextlib.contextmanager
def served(app) -> Iterator[str]:
    """A chat page built in this process (`ui.app.build_app`), served on a free port of 127.0.0.1."""
    from ui.app import launch

    port = free_port()
    launch(app, port=port, prevent_thread_lock=True, quiet=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", timeout=30)
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@contextlib.contextmanager
def chromium():
    """Debian's Chromium through Playwright (never Playwright's own browser download)."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def chat_page(browser, url: str, width: int = 1280, height: int = 860, context=None, **options):
    """The chat in a fresh browser context (another browser: its own cookies and localStorage), or in a new tab of
    `context`; JavaScript dialogs are recorded and dismissed."""
    owned = context is None
    context = context or browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.set_default_timeout(30_000)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    page.goto(url)
    page.wait_for_selector("#cq-question textarea")
    expect(page.locator("#cq-ask")).to_be_enabled(timeout=30_000)  # the stored conversation is back
    try:
        yield page
    finally:
        page.close()
        if owned:
            context.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def ask(page, question: str) -> None:
    """Type a question, press Ask and wait until its answer (or error) has finished streaming."""
    before = page.locator(FINISHED).count()
    page.fill("#cq-question textarea", question)
    page.click("#cq-ask")
    page.wait_for_function(f"n => document.querySelectorAll({FINISHED!r}).length > n", arg=before)
    expect(page.locator("#cq-ask")).to_be_enabled()


# Two short invented articles the chat tests index: a person with an age and a role, a place with a year.
FERRY_AND_GARDEN = {
    "ferry.txt": "Ferry service resumes\nThe Kelby Ferry resumed its crossings on Monday after a storm. "
                 "Captain Ines Marlow said the crossings would run hourly. Ines Marlow, 52, has worked on the "
                 "Kelby Ferry for 20 years.\n",
    "garden.md": "# Garden prize\n\nThe Dunmore Botanic Garden won the regional prize for its glasshouse. "
                 "The Dunmore Botanic Garden opened in 1901.\n",
}


# -- a verifier that scores what a test says -----------------------------------------------------------------
class ScriptedVerifier:
    """Scores each pair with `rule(pair)`, like `qa.verifier.Verifier.score`, and keeps the pairs it was shown."""

    def __init__(self, rule) -> None:
        self.rule = rule
        self.seen: list = []

    def score(self, pairs):
        import numpy as np

        self.seen += list(pairs)
        return np.array([self.rule(p) for p in pairs], dtype=np.float32)


# -- generators that write what a test says ------------------------------------------------------------------
class ScriptedGenerator:
    """Writes the same draft to every prompt, or the draft of the first hint the prompt holds (`after_hint`), and
    answers any other chat turns with the reply of the first of `replies` their last turn holds, else `reply`
    (verification, a second opinion), "yes" holding `yes` of the first token's probability (a reply may be a
    (text, yes) pair of its own)."""

    engine = "script"

    def __init__(self, text: str, reply: str = "Yes", yes: float = 0.9, after_hint: dict[str, str] | None = None,
                 replies: dict[str, str] | None = None, name: str = "scripted") -> None:
        self.text, self.reply, self.yes, self.after_hint, self.name = text, reply, yes, after_hint or {}, name
        self.replies = replies or {}
        self.prompts: list = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, prompt):
        from qa.engines import Piece

        self.prompts.append(prompt)
        last = prompt.messages[-1]["content"]
        text = next((draft for hint, draft in self.after_hint.items() if hint in last), self.text)
        words = text.split(" ")
        yield Piece(words[0], -0.1, 1, ((words[0], 0.9), ("unknown", 0.05)))
        if words[1:]:
            yield Piece(" " + " ".join(words[1:]), -0.1, 1)

    def stream_messages(self, messages, max_new_tokens=None):
        from qa.engines import Piece

        self.prompts.append(messages)
        reply = next((r for marker, r in self.replies.items() if marker in messages[-1]["content"]), self.reply)
        reply, yes = reply if isinstance(reply, tuple) else (reply, self.yes)
        yield Piece(reply, -0.1, 1, (("yes", yes), ("no", 1 - yes)))
