"""The CTranslate2 engine and the converted-model cache, on tiny random models built here."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index.model_cache import MARKER, ConversionUnsupported, build_once, ctranslate2_folder, is_complete
from qa.analysis import analyse
from qa.answer import Evidence
from qa.engines import IncrementalText
from qa.engines.ct2 import CT2Causal
from qa.generators import LanguageModelGenerator, load_generator
from qa.prompt import messages_for, sentences_prompt
from qa.tokenizer import TextTokenizer

REPO = Path(__file__).resolve().parents[1]
# Word 0 is an ordinary word: a model whose output layer is all zeros picks it at every step, for ever.
WORDS = ["again", "</s>", "<unk>", "<pad>", "the", "bridge", "reopened", "in", "march", "when", "source", "1",
         "context", "question", "answer", ":", "?", ".", "user", "system", "assistant", "unknown"]
EVIDENCE = [Evidence(1, "a.txt", "A", "The bridge reopened in March.", 0, 29, 1.0)]


def prompt(question: str):
    return sentences_prompt(analyse(question), EVIDENCE, lambda text: len(text.split()), 100, 3)
TEMPLATE = "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }}\n{% endfor %}assistant :"


def _tokenizer(folder: Path, chat: bool) -> None:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    core.decoder = decoders.WordPiece()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    if chat:
        tokenizer.chat_template = TEMPLATE
    tokenizer.save_pretrained(folder)


def _tiny_qwen(folder: Path, silent_head: bool) -> Path:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                         pad_token_id=3, eos_token_id=1, bos_token_id=1, tie_word_embeddings=False)
    model = Qwen2ForCausalLM(config)
    if silent_head:  # every logit 0: greedy decoding repeats word 0 and never ends by itself
        torch.nn.init.zeros_(model.lm_head.weight)
    model.save_pretrained(folder)
    _tokenizer(folder, chat=True)
    return folder


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory) -> Path:
    return _tiny_qwen(tmp_path_factory.mktemp("tiny-qwen"), silent_head=True)


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory) -> Path:
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    folder = tmp_path_factory.mktemp("tiny-t5")
    torch.manual_seed(0)
    config = T5Config(vocab_size=len(WORDS), d_model=16, d_ff=32, d_kv=8, num_layers=1, num_decoder_layers=1,
                      num_heads=2, pad_token_id=3, eos_token_id=1, decoder_start_token_id=3)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    _tokenizer(folder, chat=False)
    return folder


@pytest.fixture(scope="module")
def tiny_gpt_neo(tmp_path_factory) -> Path:
    """A model type CTranslate2 has no converter for."""
    import torch
    from transformers import GPTNeoConfig, GPTNeoForCausalLM

    folder = tmp_path_factory.mktemp("tiny-gpt-neo")
    torch.manual_seed(0)
    config = GPTNeoConfig(vocab_size=len(WORDS), hidden_size=16, num_layers=1, num_heads=2,
                          attention_types=[[["global"], 1]], max_position_embeddings=512, eos_token_id=1,
                          bos_token_id=1)
    GPTNeoForCausalLM(config).save_pretrained(folder)
    _tokenizer(folder, chat=False)
    return folder


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def qwen_on_ct2(tiny_qwen, cache):
    return load_generator(str(tiny_qwen), max_new_tokens=6, cache=cache)


def _converted(cache: Path) -> list[Path]:
    return sorted((cache / "ct2").iterdir())


def test_a_causal_model_runs_on_ctranslate2_by_default(qwen_on_ct2):
    assert qwen_on_ct2.engine == "ctranslate2 int8"


def test_conversion_records_its_source_and_converter(qwen_on_ct2, cache):
    from importlib.metadata import version

    marker = json.loads((qwen_on_ct2.model.folder / MARKER).read_text())
    assert marker["converter"] == f"ctranslate2 {version('ctranslate2')}"
    assert len(marker["source_sha256"]) == 64 and marker["quantization"] == "int8"


def test_decoding_is_bounded_by_max_new_tokens(qwen_on_ct2):
    pieces = list(qwen_on_ct2.stream(prompt("when ?")))
    assert sum(p.tokens for p in pieces) == 6 and "".join(p.text for p in pieces) == " ".join(["again"] * 6)


def test_first_piece_carries_the_likeliest_first_tokens(qwen_on_ct2):
    first = next(iter(qwen_on_ct2.stream(prompt("when ?"))))
    assert first.alternatives[0][0] == "again"
    assert abs(sum(p for _, p in first.alternatives) - len(first.alternatives) / len(WORDS)) < 1e-4


def test_prompt_is_the_chat_template_rendered_without_transformers(qwen_on_ct2, tiny_qwen):
    from transformers import AutoTokenizer

    messages = messages_for(analyse("when ?"), EVIDENCE)
    reference = AutoTokenizer.from_pretrained(str(tiny_qwen)).apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True)
    assert TextTokenizer(qwen_on_ct2.model.folder).render_chat(messages) == reference


def test_closing_the_stream_stops_the_model_at_once(qwen_on_ct2):
    import ctranslate2

    folder = qwen_on_ct2.model.folder
    model = ctranslate2.Generator(str(folder), device="cpu", compute_type="int8")
    steps = []

    class Counting:  # the real CTranslate2 generator, with its decoding steps counted
        num_active_batches = property(lambda self: model.num_active_batches)

        def generate_batch(self, *args, callback, **kwargs):
            return model.generate_batch(*args, callback=lambda step: steps.append(step.step) or callback(step),
                                        **kwargs)

    generator = LanguageModelGenerator("tiny-qwen", CT2Causal(folder, max_new_tokens=4000, model=Counting()))
    stream = generator.stream(prompt("when ?"))
    next(stream)
    stream.close()
    assert len(steps) < 100


def test_a_second_load_reuses_the_converted_folder(qwen_on_ct2, tiny_qwen, cache):
    before = {p: p.stat().st_mtime_ns for p in _converted(cache)}
    again = load_generator(str(tiny_qwen), max_new_tokens=6, cache=cache)
    assert again.model.folder == qwen_on_ct2.model.folder
    assert {p: p.stat().st_mtime_ns for p in _converted(cache)} == before


def _convert_counting(source: Path, target: Path, source_id: dict) -> int:
    calls = []
    ctranslate2_folder(target, source_id, lambda: calls.append(1) or source)
    return len(calls)


def _dequantise_into(intermediate: Path, model: Path):
    """A source() that builds its folder as a GGUF source's dequantisation does: a copy made on demand."""
    def build() -> Path:
        shutil.copytree(model, intermediate)
        return intermediate
    return build


def test_the_intermediate_folder_is_deleted_once_the_converted_one_is_verified(tiny_qwen, tmp_path):
    intermediate = tmp_path / "model-transformers-bfloat16"
    target = ctranslate2_folder(tmp_path / "ct2", {"source_sha256": "d" * 64}, _dequantise_into(intermediate, tiny_qwen),
                                intermediate=intermediate)
    assert is_complete(target, {"source_sha256": "d" * 64}) and not intermediate.exists()


def test_the_intermediate_folder_is_kept_when_a_setting_asks(tiny_qwen, tmp_path):
    intermediate = tmp_path / "model-transformers-bfloat16"
    ctranslate2_folder(tmp_path / "ct2", {"source_sha256": "d" * 64}, _dequantise_into(intermediate, tiny_qwen),
                       intermediate=intermediate, keep_intermediate=True)
    assert (intermediate / "config.json").is_file()


def test_an_intermediate_folder_that_was_there_before_is_left_alone(tiny_qwen, tmp_path):
    intermediate = tmp_path / "model-transformers-bfloat16"
    shutil.copytree(tiny_qwen, intermediate)  # the torch engine's, made earlier
    ctranslate2_folder(tmp_path / "ct2", {"source_sha256": "d" * 64}, lambda: intermediate, intermediate=intermediate)
    assert (intermediate / "config.json").is_file()


def test_a_new_converter_version_converts_again(tiny_qwen, tmp_path):
    target = tmp_path / "ct2"
    _convert_counting(tiny_qwen, target, {"source_sha256": "a" * 64})
    marker = json.loads((target / MARKER).read_text())
    (target / MARKER).write_text(json.dumps(dict(marker, converter="ctranslate2 0.0.1")))
    assert _convert_counting(tiny_qwen, target, {"source_sha256": "a" * 64}) == 1


def test_a_changed_source_converts_again(tiny_qwen, tmp_path):
    target = tmp_path / "ct2"
    _convert_counting(tiny_qwen, target, {"source_sha256": "a" * 64})
    assert _convert_counting(tiny_qwen, target, {"source_sha256": "b" * 64}) == 1


def test_a_damaged_converted_folder_is_rebuilt_not_loaded(tiny_qwen, tmp_path):
    target = tmp_path / "ct2"
    _convert_counting(tiny_qwen, target, {"source_sha256": "a" * 64})
    weights = target / "model.bin"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert not is_complete(target, {"source_sha256": "a" * 64})
    assert _convert_counting(tiny_qwen, target, {"source_sha256": "a" * 64}) == 1


def test_a_half_written_folder_without_its_marker_is_rebuilt(tiny_qwen, tmp_path):
    target = tmp_path / "ct2"
    _convert_counting(tiny_qwen, target, {"source_sha256": "a" * 64})
    (target / MARKER).unlink()
    assert _convert_counting(tiny_qwen, target, {"source_sha256": "a" * 64}) == 1


def test_a_failed_build_leaves_no_folder(tmp_path):
    def fail(staging: Path) -> None:
        (staging / "model.bin").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        build_once(tmp_path / "model", {"kind": "test"}, fail)
    assert list(tmp_path.iterdir()) == [tmp_path / ".model.lock"]


def test_two_processes_converting_at_once_convert_once(tmp_path):
    script = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from index.model_cache import build_once
def build(staging):
    with open({str(tmp_path / 'builds.log')!r}, 'a') as log:
        log.write('built\\n')
    time.sleep(1.0)
    (staging / 'model.bin').write_bytes(b'weights')
build_once(Path({str(tmp_path / 'model')!r}), {{'kind': 'test'}}, build)
"""
    workers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    assert (tmp_path / "builds.log").read_text() == "built\n"
    assert (tmp_path / "model" / "model.bin").read_bytes() == b"weights"


def test_an_unconvertible_model_falls_back_to_torch_with_one_log_line(tiny_gpt_neo, cache, caplog):
    with caplog.at_level(logging.WARNING, logger="citeqa.qa"):
        generator = load_generator(str(tiny_gpt_neo), max_new_tokens=3, dtype="float32", cache=cache)
    assert generator.engine == "torch float32"
    assert [r.getMessage() for r in caplog.records if "torch" in r.getMessage()] and len(caplog.records) == 1


def test_forcing_ctranslate2_on_an_unconvertible_model_names_the_fix(tiny_gpt_neo, cache):
    from qa.errors import GeneratorError

    with pytest.raises(GeneratorError, match="--engine torch"):
        load_generator(str(tiny_gpt_neo), engine="ctranslate2", cache=cache)


def test_unsupported_conversion_is_its_own_error(tiny_gpt_neo, tmp_path):
    with pytest.raises(ConversionUnsupported):
        ctranslate2_folder(tmp_path / "neo", {"source_sha256": "c" * 64}, lambda: tiny_gpt_neo)


def test_a_seq2seq_model_runs_on_ctranslate2(tiny_t5, cache):
    """A T5 folder answers on CTranslate2: its translator, since a decoder-only generator cannot load it."""
    generator = load_generator(str(tiny_t5), max_new_tokens=5, cache=cache)
    pieces = list(generator.stream(prompt("when reopened ?")))
    assert generator.engine == "ctranslate2 int8" and sum(p.tokens for p in pieces) <= 5


def test_answering_on_a_converted_model_never_imports_torch(qwen_on_ct2, tiny_qwen, cache):
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r}); from pathlib import Path; "
            "from qa.generators import load_generator; from qa.answer import Evidence; "
            f"g = load_generator({str(tiny_qwen)!r}, max_new_tokens=3, cache=Path({str(cache)!r})); "
            "list(g.stream_messages([{'role': 'user', 'content': 'when ?'}])); "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_incremental_text_holds_half_a_character_back():
    data = "é".encode()
    text = IncrementalText(lambda ids: bytes(ids).decode("utf-8", errors="replace"))
    assert [text.add(data[0]), text.add(data[1])] == ["", "é"]


@pytest.mark.parametrize(("kind", "expected"), [("intel-amx", "int8"), ("intel", "int8"), ("amd", "int8"),
                                              ("float32 only", "float32")])
def test_an_engine_built_directly_runs_in_the_type_its_cpu_prefers(qwen_on_ct2, kind, expected):
    from index.compute import CPU
    from tests.cpus import cpu_kinds

    cpus = {**cpu_kinds(), "float32 only": CPU("Some CPU", frozenset(), frozenset({"float32"}))}
    engine = CT2Causal(qwen_on_ct2.model.folder, model=object(), cpu=cpus[kind])
    assert engine.label == f"ctranslate2 {expected}"


def test_an_engine_built_directly_refuses_a_type_its_cpu_lacks(qwen_on_ct2):
    from index.compute import ComputeTypeError
    from tests.cpus import cpu_kinds

    with pytest.raises(ComputeTypeError, match="AMD EPYC"):
        CT2Causal(qwen_on_ct2.model.folder, compute_type="int16", model=object(), cpu=cpu_kinds()["amd"])
