"""Reliability and security of the chat: escaping, uploads, the bound address, --auth, and load.

The server tests start the real `citeqa chat` in a subprocess on a free port on 127.0.0.1, with --auth,
an upload limit of 1 MB and the extractive generator, on a fresh index of the seed articles.
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import statistics
import threading
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support import chat_server
from hypothesis import given, settings
from hypothesis import strategies as st

gr = pytest.importorskip("gradio")

from ui import app as ui_app  # noqa: E402
from ui import conversation as conv  # noqa: E402
from ui.app import Parts, build_app  # noqa: E402
from ui.documents import render_documents  # noqa: E402
from ui.evidence import render_citation_panel, render_panel_intro  # noqa: E402
from ui.render import (CITE_PREFIX, TURN_PREFIX, chat_messages, render_answer, render_error,  # noqa: E402
                       render_streaming, render_timings)
from ui.chat import render_note  # noqa: E402
from ui.progress import render_loading  # noqa: E402
from ui.settings import render_generators  # noqa: E402
from ui.speeds import Speed  # noqa: E402
from ui.uploads import UPLOAD_SOURCE_PREFIX, UploadError, safe_upload_name, store_upload  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SEED = "003_e903dd0f10d17d67.txt"
USER, PASSWORD = "reader", "s3cret:pass"
USERS, QUESTIONS_EACH, LOAD_TIMEOUT = 20, 3, 120.0


def quiet(*args, **kwargs) -> None:
    return None


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory, embedder) -> Path:
    from qa.assistant import Assistant

    root = tmp_path_factory.mktemp("ui-reliability") / "idx"
    Assistant(index_dir=root, generator="extractive", embedder=embedder).add([SEEDS])
    return root


@pytest.fixture
def ui(tmp_path, seed_index, embedder) -> Parts:
    from qa.assistant import Assistant

    shutil.copytree(seed_index, tmp_path / "idx")
    return build_app(Assistant(index_dir=tmp_path / "idx", generator="extractive", embedder=embedder)).citeqa


def sources(choices) -> list[str]:
    return [value for _, value in choices.choices]


# -- uploads: their own namespace -------------------------------------------------------------------------
def test_an_upload_named_like_a_seed_never_replaces_it(ui, tmp_path):
    seed_before = ui.assistant.index.document(SEED)
    impostor = tmp_path / "incoming" / SEED
    impostor.parent.mkdir()
    impostor.write_text("The Glenmoor dam was finished in 1931 by 400 workers.\n", encoding="utf-8")
    status, table, choices = ui.documents.upload([str(impostor)], progress=quiet)
    assert f"{SEED}: added" in status
    assert SEED in sources(choices) and UPLOAD_SOURCE_PREFIX + SEED in sources(choices)
    assert ui.assistant.index.document(SEED) == seed_before  # the seed is untouched
    assert ui.api.ask("How many workers finished the Glenmoor dam?")["citations"][0]["source"] == \
        UPLOAD_SOURCE_PREFIX + SEED
    kaba = ui.api.ask("How old was Chris Kaba when he was shot?")  # still answered from the seeds
    assert kaba["citations"] and not any(c["source"].startswith(UPLOAD_SOURCE_PREFIX) for c in kaba["citations"])
    assert SEED in {p.source for p in ui.assistant.index.search("Mr Kaba, 24, died on September 5, 2022", k=5)}

    # Removing the seed leaves the upload and its copy; removing the upload deletes only its copy.
    status, _, _, _ = ui.documents.remove(SEED)
    assert "removed" in status and (ui.documents.upload_dir / SEED).exists()
    status, _, choices, _ = ui.documents.remove(UPLOAD_SOURCE_PREFIX + SEED)
    assert "removed" in status and not (ui.documents.upload_dir / SEED).exists()
    assert SEED not in sources(choices) and UPLOAD_SOURCE_PREFIX + SEED not in sources(choices)


def test_an_upload_with_the_content_of_an_indexed_document_is_skipped(ui, tmp_path):
    copy = tmp_path / "same-as-seed.txt"
    shutil.copyfile(SEEDS / SEED, copy)
    status, _, choices = ui.documents.upload([str(copy)], progress=quiet)
    assert f"same content as {SEED}" in status and "✗" in status
    assert UPLOAD_SOURCE_PREFIX + "same-as-seed.txt" not in sources(choices)
    assert not (ui.documents.upload_dir / "same-as-seed.txt").exists()


def test_uploading_again_updates_only_the_upload(ui, tmp_path):
    note = tmp_path / "note.md"
    note.write_text("# Note\n\nThe Arden clock tower has 4 faces.\n", encoding="utf-8")
    assert "added" in ui.documents.upload([str(note)], progress=quiet)[0]
    note.write_text("# Note\n\nThe Arden clock tower has 6 faces.\n", encoding="utf-8")
    assert "updated" in ui.documents.upload([str(note)], progress=quiet)[0]
    assert "6 faces" in ui.assistant.index.document(UPLOAD_SOURCE_PREFIX + "note.md").text
    assert len(ui.assistant.documents()) == 3


def test_uploads_over_the_limit_are_refused_and_not_indexed(ui, tmp_path):
    ui.documents.max_upload_mb = 0.5
    big = tmp_path / "big.txt"
    big.write_bytes(b"The Arden clock tower has 4 faces. " * 20_000)  # 0.7 MB
    status, _, choices = ui.documents.upload([str(big)], progress=quiet)
    assert "too large (0.7 MB; the limit is 0.5 MB)" in status
    assert len(choices.choices) == 2 and not (ui.documents.upload_dir / "big.txt").exists()


# -- uploads: paths ------------------------------------------------------------------------------------------
TRAVERSALS = ["../../outside.txt", "..\\..\\outside.txt", "/etc/outside.txt", "C:\\Windows\\outside.txt",
              "uploads/../../outside.txt", "．．／．．／outside.txt", "..%2f..%2foutside.txt", "outside.txt\x00.exe",
              "\u202etxt.exe", "outside.txt/", "./.././outside.txt", "~/outside.txt", "con.txt", "a" * 500 + ".txt"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_upload_names_cannot_leave_the_upload_folder(tmp_path, name):
    folder = tmp_path / "index" / "uploads"
    source = tmp_path / "payload.bin"
    source.write_text("Some text.\n", encoding="utf-8")
    try:
        stored = store_upload(source, folder, name=name)
    except UploadError:
        stored = None
    if stored is not None:
        assert stored.parent == folder.resolve() and len(stored.name) <= 120
        assert "/" not in stored.name and "\\" not in stored.name and not stored.name.startswith(".")
    outside = {p for p in tmp_path.rglob("*") if folder not in p.parents and p != folder}
    assert outside <= {tmp_path / "index", source}


def with_suffix(name: str) -> str:
    return name + (".txt", ".md", "", ".pdf", "/..", "\\x.html")[len(name) % 6]


@settings(max_examples=150, deadline=None)
@given(name=st.text(st.characters(codec="utf-8"), max_size=60).map(with_suffix))
def test_any_upload_name_is_refused_or_kept_inside(name):
    folder = Path("/nonexistent-citeqa-root/index/uploads")
    try:
        clean = safe_upload_name(name)
    except UploadError:
        return
    assert clean and "/" not in clean and "\\" not in clean and clean not in {".", ".."}
    assert not clean.startswith(".") and len(clean) <= 120
    assert (folder / clean).resolve().parent == folder.resolve()


def test_a_symlink_in_the_upload_folder_is_never_followed(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("do not overwrite", encoding="utf-8")
    (folder / "notes.txt").symlink_to(secret)
    incoming = tmp_path / "incoming.txt"
    incoming.write_text("uploaded text", encoding="utf-8")
    with pytest.raises(UploadError, match="escapes the upload folder"):
        store_upload(incoming, folder, name="notes.txt")
    assert secret.read_text(encoding="utf-8") == "do not overwrite"


# -- escaping: every tag in the page comes from the template ---------------------------------------------
ALLOWED_TAGS = {"div", "span", "a", "mark", "br", "table", "thead", "tbody", "tr", "th", "td", "p", "button",
                "details", "summary", "progress", "svg", "rect", "code"}  # the icons the page ships are inline SVG
ALLOWED_ATTRIBUTES = {"class", "href", "title", "role", "max", "value", "viewbox", "width", "height", "aria-hidden",
                      "focusable", "x", "y", "rx", "fill", "colspan"}


class TagAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name not in ALLOWED_ATTRIBUTES:
                self.problems.append(f"attribute {name}={value!r} on <{tag}>")
            if name == "href" and not (value or "").startswith((CITE_PREFIX, TURN_PREFIX)):
                self.problems.append(f"href {value!r}")

    def handle_comment(self, data):
        self.problems.append(f"comment {data!r}")

    def handle_decl(self, decl):
        self.problems.append(f"declaration {decl!r}")

    def handle_pi(self, data):
        self.problems.append(f"processing instruction {data!r}")


def audit(markup: str) -> list[str]:
    parser = TagAudit()
    parser.feed(markup)
    parser.close()
    return parser.problems


HOSTILE = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '" onmouseover="alert(1)',
                     "' onclick='x'", "javascript:alert(1)", "<!-- x -->", "</div><script>", "&lt;b&gt;", "[1]",
                     "<a href=//evil>x</a>", "]]><svg onload=alert(1)>", "\x00<b>", "<<script>>"]),
).flatmap(lambda a: st.tuples(st.just(a), st.text(max_size=20)).map(lambda t: t[0] + t[1]))


@settings(max_examples=120, deadline=None)
@given(title=HOSTILE, source=HOSTILE, sentence=HOSTILE, question=HOSTILE, reason=HOSTILE)
def test_rendered_pages_only_hold_template_markup(title, source, sentence, question, reason):
    document = f"Before. {sentence} After."
    start = document.index(sentence) if sentence else 8
    citation = {"marker": 1, "source": source, "title": title, "text": sentence, "start": start,
                "end": start + len(sentence), "supported": False}
    passage = {"source": source, "title": title, "text": sentence, "start": start, "end": start + len(sentence),
               "score": 0.5}
    answer = {"question": question, "standalone_question": question + reason, "text": f"{sentence} [1] [2]",
              "abstained": False, "reason": reason, "detail": reason, "conflict": True, "generator": reason,
              "citations": [citation], "passages": [passage], "timings": {reason or "x": 0.1}}
    abstained = dict(answer, abstained=True, citations=[])
    entries = [conv.answered(conv.asking(question), answer), conv.failed(conv.asking(question), reason),
               conv.stopped(conv.asking(question)), conv.stopped(conv.asking(question), sentence)]
    docs = [type("Info", (), dict(source=source, title=title, chunks=1, characters=2, indexed_at=0.0))()]
    pages = [render_answer(answer, 0), render_answer(abstained, 1), render_panel_intro(answer, 0),
             render_panel_intro(abstained, 1), render_citation_panel(answer, 0, 1, document, "1"),
             render_citation_panel(answer, 0, 1, None), render_documents(docs), render_error(reason),
             render_streaming(sentence), render_timings({reason: 1.0}), render_loading(source, 3.0, None),
             render_note(reason), render_generators([(source, reason, Speed(source, 0, None, None, None))]),
             *(m["content"] for m in chat_messages(entries))]
    for page in pages:
        assert audit(page) == [], page
    # And what was escaped reads back as the original text.
    assert html.escape(sentence) in pages[4]


# -- the address and the warning -------------------------------------------------------------------------
def test_chat_binds_loopback_unless_told_and_warns_when_open_without_auth(monkeypatch, capsys):
    from ui import cli

    launched = {}
    monkeypatch.setattr(cli, "assistant_from", lambda args: type("A", (), {"index": type("I", (), {"root": "x"})})())
    monkeypatch.setattr("ui.app.build_app", lambda *a, **k: object())
    monkeypatch.setattr("ui.app.launch", lambda app, **kwargs: launched.update(kwargs))
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    cli.main(parser.parse_args(["--no-warm"]))
    assert launched["host"] == "127.0.0.1" and launched["auth"] is None
    assert "warning" not in capsys.readouterr().err
    cli.main(parser.parse_args(["--no-warm", "--host", "0.0.0.0"]))
    assert launched["host"] == "0.0.0.0" and "without --auth" in capsys.readouterr().err
    cli.main(parser.parse_args(["--no-warm", "--host", "0.0.0.0", "--auth", "me:pw"]))
    assert launched["auth"] == ("me", "pw") and "warning" not in capsys.readouterr().err


def test_the_queue_is_bounded(ui, monkeypatch):
    queued = {}
    real_queue = gr.Blocks.queue

    def queue(self, **kwargs):
        queued.update(kwargs)
        return real_queue(self, **kwargs)

    monkeypatch.setattr(gr.Blocks, "queue", queue)
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kwargs: kwargs)
    kwargs = ui_app.launch(build_app(ui.assistant), port=0)
    assert queued["max_size"] == ui_app.MAX_QUEUE and kwargs["server_name"] == "127.0.0.1"


# -- the real server -------------------------------------------------------------------------------------
def listening_addresses(port: int) -> set[str]:
    """Local addresses listening on `port`, from /proc/net/tcp{,6} (state 0A = LISTEN)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":
                found.add(address)
    return found


@pytest.fixture(scope="module")
def server(seed_index, tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    index = root / "idx"
    shutil.copytree(seed_index, index)
    log = root / "server.log"
    with chat_server(index, log, "--auth", f"{USER}:{PASSWORD}", "--max-upload-mb", "1") as (url, port):
        yield {"url": url, "port": port, "log": log}


def status_of(request: urllib.request.Request | str) -> int:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def logged_in(url: str):
    import httpx

    client = httpx.Client(base_url=url, timeout=30)
    response = client.post("/login", data={"username": USER, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client


def test_server_listens_on_loopback_only(server):
    assert listening_addresses(server["port"]) == {"0100007F"}  # 127.0.0.1, not 0.0.0.0 or ::


def test_without_credentials_the_api_refuses(server):
    from gradio_client import Client

    url = server["url"]
    assert status_of(url + "/config") == 401
    assert status_of(url + "/gradio_api/info") == 401
    ask = urllib.request.Request(url + "/gradio_api/call/ask", data=json.dumps({"data": ["Who is Martyn Blake?"]})
                                 .encode(), headers={"Content-Type": "application/json"}, method="POST")
    assert status_of(ask) == 401
    upload = urllib.request.Request(url + "/gradio_api/upload", data=b"--x--\r\n", method="POST",
                                    headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert status_of(upload) == 401
    with pytest.raises(Exception, match="credentials|login|Login"):
        Client(url + "/", verbose=False)
    with pytest.raises(ValueError, match="login"):
        Client(url + "/", auth=(USER, "wrong"), verbose=False)
    import httpx

    wrong = httpx.post(url + "/login", data={"username": USER, "password": "wrong"})
    assert wrong.status_code >= 400


def test_with_credentials_the_api_answers_and_limits_uploads(server):
    from gradio_client import Client

    client = Client(server["url"] + "/", auth=(USER, PASSWORD), verbose=False)
    result = client.predict("Where was Chris Kaba shot?", api_name="/ask")
    assert "Streatham" in result["answer"] and result["citations"]
    with pytest.raises(Exception, match="empty"):
        client.predict("   ", api_name="/ask")
    session = logged_in(server["url"])
    small = session.post("/gradio_api/upload", files={"files": ("ok.txt", b"small file\n")})
    assert small.status_code == 200
    big = session.post("/gradio_api/upload", files={"files": ("big.txt", b"x" * 1_200_000)})
    assert big.status_code == 413  # --max-upload-mb 1: refused before it reaches the disk
    escape = session.post("/gradio_api/upload", files={"files": ("../../../../tmp/citeqa-escape.txt", b"x\n")})
    assert escape.status_code == 200 and all("/../" not in p for p in escape.json())
    assert not Path("/tmp/citeqa-escape.txt").exists()


@pytest.mark.load
def test_twenty_concurrent_users(server, capsys):
    """20 gradio_client users, 3 different questions each, at once: no errors, the queue stays bounded,
    p50/p95 reported. Hard limit: 120 s."""
    from gradio_client import Client

    questions = [json.loads(line)["question"] for line in
                 (REPO / "eval" / "data" / "seeds.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    latencies: list[float] = []
    errors: list[str] = []
    queue_sizes: list[int] = []
    done = threading.Event()
    start_together = threading.Barrier(USERS + 1)

    def user(number: int) -> None:
        try:
            client = Client(server["url"] + "/", auth=(USER, PASSWORD), verbose=False)
            start_together.wait(timeout=60)
            for q in range(QUESTIONS_EACH):
                question = questions[(number * QUESTIONS_EACH + q) % len(questions)]
                began = time.perf_counter()
                result = client.predict(question, api_name="/ask")
                latencies.append(time.perf_counter() - began)
                assert result["answer"] and (result["abstained"] or result["citations"])
        except Exception as exc:  # noqa: BLE001
            errors.append(f"user {number}: {exc.__class__.__name__}: {exc}")

    def watch_queue() -> None:
        session = logged_in(server["url"])
        while not done.is_set():
            try:
                queue_sizes.append(int(session.get("/gradio_api/queue/status").json()["queue_size"]))
            except Exception as exc:  # noqa: BLE001
                errors.append(f"queue status: {exc}")
            time.sleep(0.1)

    users = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(USERS)]
    watcher = threading.Thread(target=watch_queue, daemon=True)
    for t in users:
        t.start()
    start_together.wait(timeout=60)
    began = time.perf_counter()
    watcher.start()
    deadline = time.monotonic() + LOAD_TIMEOUT
    for t in users:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    done.set()
    watcher.join(timeout=10)
    wall = time.perf_counter() - began
    assert not any(t.is_alive() for t in users), f"the load test passed its {LOAD_TIMEOUT:.0f} s limit"
    assert not errors, errors[:5]
    assert len(latencies) == USERS * QUESTIONS_EACH
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    peak = max(queue_sizes, default=0)
    assert peak <= USERS <= ui_app.MAX_QUEUE  # never more waiting than users: nothing piles up
    with capsys.disabled():
        print(f"\nload: {USERS} users x {QUESTIONS_EACH} questions = {len(latencies)} requests in {wall:.1f} s "
              f"({len(latencies) / wall:.2f}/s); latency p50 {p50:.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s; "
              f"queue peak {peak} (limit {ui_app.MAX_QUEUE}); errors {len(errors)}")
