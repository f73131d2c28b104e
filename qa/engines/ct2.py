"""CTranslate2: int8 decoder-only (Qwen, Llama) and encoder-decoder (T5) models, streamed token by token.

Measured on 2 cores (452-token prompt, 16 new tokens): Qwen2.5-Coder-0.5B 0.77 s against 2.56 s on torch
bfloat16, the 1.5B 2.30 s against 8.80 s, with the same answers. Importing ctranslate2 and tokenizers takes
0.15 s; torch and transformers' modeling stack about 4 s, so answering never imports them.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from index.compute import CPU, choose, load_failure
from qa.engines import EngineError, IncrementalText, Message, Piece, plain_prompt
from qa.tokenizer import TextTokenizer

ALTERNATIVES = 8  # first tokens kept with their probabilities
_DONE = object()


def _threads(threads: int | None) -> int:
    return threads or os.cpu_count() or 1


def _top(logits: np.ndarray, tokenizer: TextTokenizer, count: int = ALTERNATIVES) -> tuple[tuple[str, float], ...]:
    """The `count` likeliest tokens of one decoding step, as (text, probability)."""
    row = np.asarray(logits, dtype=np.float32).reshape(-1)
    shifted = row - row.max()
    probabilities = np.exp(shifted) / np.exp(shifted).sum()
    best = np.argpartition(-probabilities, count)[:count]
    best = best[np.argsort(-probabilities[best])]
    return tuple((tokenizer.id_to_text(int(i)), float(probabilities[i])) for i in best)


class CT2Causal:
    """A decoder-only model: the chat template renders the prompt, the generator continues it.

    `model`, when given, is the `ctranslate2.Generator` to run instead of loading the folder's weights again:
    one already loaded, or one a test wraps to watch the decoding steps."""

    def __init__(self, folder: Path, max_new_tokens: int = 48, compute_type: str = "auto",
                 threads: int | None = None, model=None, cpu: CPU | None = None) -> None:
        compute_type = choose("generator", compute_type, cpu)  # "auto": the CPU's best; a named type it lacks is refused
        self.folder = Path(folder)
        self.max_new_tokens = max_new_tokens
        self.label = f"ctranslate2 {compute_type}"
        self.tokenizer = TextTokenizer(self.folder)
        self.model = model if model is not None else self._load(compute_type, threads)

    def _load(self, compute_type: str, threads: int | None):
        import ctranslate2

        try:
            return ctranslate2.Generator(str(self.folder), device="cpu", compute_type=compute_type,
                                         intra_threads=_threads(threads))
        except (RuntimeError, ValueError) as exc:
            raise EngineError(load_failure(f"the model in {self.folder}", compute_type, exc)) from None

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text)

    def prompt_tokens(self, messages: Sequence[Message]) -> list[str]:
        chat = self.tokenizer.chat_template is not None
        return self.tokenizer.tokens(self.tokenizer.render_chat(messages) if chat else plain_prompt(messages))

    def split_static(self, messages: Sequence[Message], tokens: list[str]) -> tuple[list[str] | None, list[str]]:
        """The prompt's fixed head (the system turn up to where the user's words begin) and the rest.

        CTranslate2 keeps the model state after a static prompt and starts every later prompt with the same
        head from it (`static_prompt`): the system turn is read once per process instead of once per answer.
        There is one head per system prompt (the answer, the verification), so the cache stays small.
        """
        users = [m for m in messages if m.get("role") == "user"]
        if self.tokenizer.chat_template is None or not users or not users[0]["content"]:
            return None, tokens
        rendered = self.tokenizer.render_chat(messages)
        at = rendered.find(users[0]["content"])
        head = self.tokenizer.tokens(rendered[:at]) if at > 0 else []
        if not head or tokens[:len(head)] != head or len(head) >= len(tokens):
            return None, tokens
        return head, tokens[len(head):]

    def stream(self, messages: Sequence[Message], max_new_tokens: int | None = None) -> Iterator[Piece]:
        """Decoding runs in a thread; each step's token crosses a queue, and closing this iterator stops it."""
        static, tokens = self.split_static(messages, self.prompt_tokens(messages))
        steps: queue.Queue = queue.Queue()
        stop = threading.Event()
        end_ids = set(self.tokenizer.end_ids)

        def on_step(step) -> bool:
            alternatives = _top(np.asarray(step.logits), self.tokenizer) if step.step == 0 else ()
            steps.put((step.token_id, float(step.log_prob or 0.0), alternatives))
            return stop.is_set()

        def work() -> None:
            try:
                self.model.generate_batch(
                    [tokens], max_length=max_new_tokens or self.max_new_tokens, sampling_topk=1, beam_size=1,
                    static_prompt=static,
                    end_token=list(end_ids) or None, include_prompt_in_result=False, return_scores=True,
                    return_logits_vocab=True, callback=on_step)
                settle(self.model)
            except BaseException as exc:  # surfaced in the reader's thread
                steps.put(exc)
            finally:
                steps.put(_DONE)

        worker = threading.Thread(target=work, daemon=True, name="citeqa-generate")
        worker.start()
        try:
            yield from _pieces(_until_done(steps), IncrementalText(self.tokenizer.decode), end_ids)
        finally:
            stop.set()
            worker.join()


Step = tuple[int, float, tuple[tuple[str, float], ...]]  # token id, log-probability, first-step alternatives


def settle(model, poll: float = 0.0005) -> None:
    """Wait until CTranslate2 has released the finished job, callback included.

    Its worker thread drops the Python callback after the result is delivered, and dropping it needs the
    GIL. A process that exits in that window has its worker thread killed inside a C++ destructor, and
    aborts ("terminate called without an active exception", seen in 1 run of 2).
    """
    while model.num_active_batches:
        time.sleep(poll)


def _until_done(steps: queue.Queue) -> Iterator[Step]:
    while (item := steps.get()) is not _DONE:
        if isinstance(item, BaseException):
            raise EngineError(f"generation failed: {item}") from item
        yield item


def _pieces(steps: Iterator[Step], text: IncrementalText, end_ids: set[int]) -> Iterator[Piece]:
    """Pieces of released text, each with the log-probability of the tokens behind it."""
    held_logprob, held_tokens, first = 0.0, 0, ()
    started = False
    for token_id, logprob, alternatives in steps:
        first = first or alternatives
        if token_id in end_ids:
            continue
        held_logprob += logprob
        held_tokens += 1
        piece = text.add(token_id)
        if piece:
            yield Piece(piece, held_logprob, held_tokens, () if started else first)
            started, held_logprob, held_tokens = True, 0.0, 0
    tail = text.finish()
    if tail or (not started and first):  # an empty answer still reports how the model wanted to begin
        yield Piece(tail, held_logprob, held_tokens, () if started else first)


class CT2Seq2Seq:
    """An encoder-decoder model (flan-t5): the flattened prompt is the source, the answer the target."""

    def __init__(self, folder: Path, max_new_tokens: int = 48, compute_type: str = "auto",
                 threads: int | None = None, max_input_tokens: int = 512, cpu: CPU | None = None) -> None:
        import ctranslate2

        compute_type = choose("generator", compute_type, cpu)
        self.folder = Path(folder)
        self.max_new_tokens = max_new_tokens
        self.label = f"ctranslate2 {compute_type}"
        self.tokenizer = TextTokenizer(self.folder)
        self.max_input_tokens = self.tokenizer.max_length or max_input_tokens
        try:
            self.model = ctranslate2.Translator(str(self.folder), device="cpu", compute_type=compute_type,
                                                intra_threads=_threads(threads))
        except (RuntimeError, ValueError) as exc:
            raise EngineError(load_failure(f"the model in {self.folder}", compute_type, exc)) from None

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text)

    def stream(self, messages: Sequence[Message], max_new_tokens: int | None = None) -> Iterator[Piece]:
        source = self.tokenizer.tokens(plain_prompt(messages), special=True)
        if len(source) > self.max_input_tokens:  # keep the end: the question and "Answer:" come last
            source = source[-self.max_input_tokens:]
        # CTranslate2 decodes in its own thread and stops when this iterator is closed.
        decoding = self.model.generate_tokens(source, max_decoding_length=max_new_tokens or self.max_new_tokens,
                                              sampling_topk=1,
                                              return_log_prob=True)
        steps = ((s.token_id, float(s.log_prob or 0.0), ()) for s in decoding)
        try:
            yield from _pieces(steps, IncrementalText(self.tokenizer.decode), set(self.tokenizer.end_ids))
        finally:
            decoding.close()
            settle(self.model)
