"""The torch (transformers) engine and generator selection, on tiny random models built here (no weights can
be downloaded). The CTranslate2 engine has its own tests in test_qa_engines.py."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from qa.analysis import analyse
from qa.answer import Evidence
from qa.engines.hf import token_streamer
from qa.engines.registry import ENGINES, engine_choice
from qa.errors import GeneratorError
from qa.generators import ExtractiveGenerator, load_generator
from qa.prompt import messages_for, sentences_prompt
from qa.weights import QWEN_05B, QWEN_15B, Part, WeightsError, assemble

WORDS = ["<pad>", "</s>", "<unk>", "the", "bridge", "reopened", "in", "march", "who", "when", "what", "source",
         "1", "2", "context", "question", "answer", ":", "?", ".", "user", "system", "assistant", "unknown"]
EVIDENCE = [Evidence(1, "a.txt", "A", "The bridge reopened in March.", 0, 29, 1.0)]


def prompt(question: str):
    return sentences_prompt(analyse(question), EVIDENCE, lambda text: len(text.split()), 100, 3)


def _tokenizer(folder: Path, chat: bool):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece()  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>",
                                        unk_token="<unk>")
    if chat:
        tokenizer.chat_template = ("{% for m in messages %}{{ m['role'] }} : {{ m['content'] }}\n{% endfor %}"
                                   "assistant :")
    tokenizer.save_pretrained(folder)


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory) -> Path:
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    folder = tmp_path_factory.mktemp("tiny-t5")
    torch.manual_seed(0)
    config = T5Config(vocab_size=len(WORDS), d_model=16, d_ff=32, d_kv=8, num_layers=1, num_decoder_layers=1,
                      num_heads=2, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    model = T5ForConditionalGeneration(config)
    model.generation_config.suppress_tokens = [0, 1, 2]  # random weights would otherwise stop at once
    model.save_pretrained(folder)
    _tokenizer(folder, chat=False)
    return folder


@pytest.fixture(scope="module")
def tiny_causal(tmp_path_factory) -> Path:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    folder = tmp_path_factory.mktemp("tiny-causal")
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                         pad_token_id=0, eos_token_id=1, bos_token_id=1)
    model = Qwen2ForCausalLM(config)
    model.generation_config.suppress_tokens = [0, 1, 2]
    model.save_pretrained(folder)
    _tokenizer(folder, chat=True)
    return folder


def test_an_encoder_decoder_folder_is_run_as_one(tiny_t5):
    """Its config decides: it loads without a kind prefix, and the same folder taken as decoder-only is refused."""
    assert load_generator(str(tiny_t5), max_new_tokens=5, dtype="float32", engine="torch").engine == "torch float32"
    with pytest.raises(GeneratorError, match="cannot load generator"):
        load_generator(f"causal:{tiny_t5}", max_new_tokens=5, dtype="float32", engine="torch")


def test_seq2seq_streams_bounded_text(tiny_t5):
    generator = load_generator(str(tiny_t5), max_new_tokens=5, dtype="float32", engine="torch")
    text = "".join(p.text for p in generator.stream(prompt("when reopened ?")))
    assert 1 <= generator.count_tokens(text) <= 5


def test_seq2seq_is_deterministic(tiny_t5):
    generator = load_generator(str(tiny_t5), max_new_tokens=6, dtype="float32", engine="torch")
    first = "".join(p.text for p in generator.stream(prompt("who ?")))
    assert first == "".join(p.text for p in generator.stream(prompt("who ?")))


def test_a_decoder_folder_is_run_as_one(tiny_causal):
    """Its config decides: it loads without a kind prefix, and the same folder taken as encoder-decoder is refused."""
    assert load_generator(str(tiny_causal), max_new_tokens=4, dtype="float32", engine="torch").engine == "torch float32"
    with pytest.raises(GeneratorError, match="cannot load generator"):
        load_generator(f"seq2seq:{tiny_causal}", max_new_tokens=4, dtype="float32", engine="torch")


def test_causal_prompt_follows_the_chat_template(tiny_causal):
    generator = load_generator(str(tiny_causal), max_new_tokens=4, dtype="float32", engine="torch")
    prompt = generator.model.prompt(messages_for(analyse("when ?"), EVIDENCE))
    assert prompt.startswith("system : ") and "Source 1: The bridge reopened in March." in prompt
    assert prompt.endswith("assistant :")


def test_causal_streams_bounded_text(tiny_causal):
    generator = load_generator(str(tiny_causal), max_new_tokens=4, dtype="float32", engine="torch")
    text = "".join(p.text for p in generator.stream(prompt("when ?")))
    assert text and generator.count_tokens(text) <= 4


def test_a_kind_prefix_overrides_a_config_that_does_not_say(tiny_t5, tmp_path):
    """A T5 folder whose config.json does not say it is an encoder-decoder is taken as decoder-only and refused;
    `seq2seq:` runs it."""
    folder = tmp_path / "unlabelled-t5"
    shutil.copytree(tiny_t5, folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    del config["is_encoder_decoder"]
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(GeneratorError, match="cannot load generator"):
        load_generator(str(folder), max_new_tokens=2, dtype="float32", engine="torch")
    generator = load_generator(f"seq2seq:{folder}", max_new_tokens=2, dtype="float32", engine="torch")
    assert generator.count_tokens("".join(p.text for p in generator.stream(prompt("who ?")))) <= 2


@pytest.mark.parametrize("name", ENGINES)
def test_an_engine_rebuilt_from_its_settings_is_the_same(name):
    engine = engine_choice(name, max_new_tokens=7, threads=2, dtype="float32", compute_type="int8")
    assert ENGINES[name](**json.loads(json.dumps(engine.to_dict()))) == engine


@pytest.mark.parametrize(("setting", "refused"), [
    ({"max_new_tokens": 0}, "max_new_tokens must be at least 1"),
    ({"threads": 0}, "threads must be at least 1"),
    ({"dtype": "int4"}, "dtype must be one of bfloat16, float16, float32"),
])
@pytest.mark.parametrize("name", ENGINES)
def test_engine_settings_no_model_can_run_with_are_refused_by_name(name, setting, refused):
    with pytest.raises(ValueError, match=refused):
        engine_choice(name, **setting)


def test_unreachable_model_names_the_offline_fix(tmp_path):
    with pytest.raises(GeneratorError, match="offline"):
        load_generator("no-such-org/no-such-model-here")


def test_unknown_generator_name_lists_the_choices():
    with pytest.raises(GeneratorError, match="qwen-1.5b"):
        load_generator("no-such-generator")


def test_extractive_generator_cites_its_best_sentence():
    prompt = sentences_prompt(analyse("When did the bridge reopen?"), EVIDENCE, len, 100, 3)
    assert "".join(p.text for p in ExtractiveGenerator().stream(prompt)) == "The bridge reopened in March. [1]"


def _part(path: Path, data: bytes, record: bytes | None = None) -> Part:
    """A part file whose RECORD hash is that of `record` (the bytes it should hold)."""
    path.write_bytes(data)
    return Part(path, hashlib.sha256(record if record is not None else data).hexdigest())


def test_parts_are_joined_when_every_hash_matches(tmp_path):
    parts = [_part(tmp_path / "p1", b"abc"), _part(tmp_path / "p2", b"def")]
    target = assemble(parts, tmp_path / "model.gguf", hashlib.sha256(b"abcdef").hexdigest())
    assert target.read_bytes() == b"abcdef"


def test_corrupted_part_is_refused_by_name(tmp_path):
    parts = [_part(tmp_path / "p1", b"abc"), _part(tmp_path / "p2", b"dXf", record=b"def")]
    with pytest.raises(WeightsError, match="p2 is corrupted"):
        assemble(parts, tmp_path / "model.gguf", hashlib.sha256(b"abcdef").hexdigest())
    assert not (tmp_path / "model.gguf").exists()


def test_wrong_joined_hash_is_refused_and_nothing_is_left(tmp_path):
    parts = [Part(tmp_path / "p1", None)]
    (tmp_path / "p1").write_bytes(b"abc")
    with pytest.raises(WeightsError, match="sha256"):
        assemble(parts, tmp_path / "model.gguf", "0" * 64)
    assert list(tmp_path.iterdir()) == [tmp_path / "p1"]


@pytest.mark.parametrize("model", [QWEN_05B, QWEN_15B], ids=lambda m: m.name)
def test_installed_parts_are_found_with_their_record_hashes(model):
    from qa.weights import find_parts

    parts = find_parts(model)
    assert len(parts) == model.parts and all(p.path.is_file() and p.record_sha256 for p in parts)


def test_models_loading_in_two_threads_keep_their_own_dtypes(tiny_causal):
    """The chat warms its generator in one thread while an upload loads the embedder in another: the bf16
    generator's load must not leave float32 layers in it, nor bf16 layers in a float32 embedder."""
    import threading

    import torch

    from index.embedding import Embedder

    generators, embedders, errors = [], [], []

    def load(target: list, make) -> None:
        try:
            target.append(make())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=load, args=(generators, lambda: load_generator(
        str(tiny_causal), dtype="bfloat16", engine="torch")))
               for _ in range(12)]
    threads += [threading.Thread(target=load, args=(embedders, lambda: Embedder(backend="transformers", dtype="float32"))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert {p.dtype for g in generators for p in g.model.model.parameters()} == {torch.bfloat16}
    assert {p.dtype for e in embedders for p in e.encoder.model.parameters()} == {torch.float32}


def _byte_level_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    core = Tokenizer(models.BPE({ch: i for i, ch in enumerate(sorted(alphabet))}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=core)


def _released(streamer) -> list[str]:
    pieces = []
    while not streamer.text_queue.empty():
        pieces.append(streamer.text_queue.get_nowait())
    return pieces


def test_streamer_releases_a_token_before_the_next_space():
    import torch

    tokenizer = _byte_level_tokenizer()
    streamer = token_streamer(tokenizer)
    streamer.put(torch.tensor([tokenizer.encode("prompt")]))
    streamer.put(torch.tensor([tokenizer.encode("2")]))
    assert _released(streamer) == ["2"]


def test_streamer_holds_half_a_character_back():
    import torch

    tokenizer = _byte_level_tokenizer()
    streamer = token_streamer(tokenizer)
    streamer.put(torch.tensor([tokenizer.encode("prompt")]))
    first, second = tokenizer.encode("é")
    streamer.put(torch.tensor([first]))
    held = _released(streamer)
    streamer.put(torch.tensor([second]))
    assert (held, _released(streamer)) == ([], ["é"])


def test_streamed_pieces_join_to_the_decoded_answer():
    import torch

    tokenizer = _byte_level_tokenizer()
    streamer = token_streamer(tokenizer)
    streamer.put(torch.tensor([tokenizer.encode("prompt")]))
    for token in tokenizer.encode("Streatham Hill, 5 September — café"):
        streamer.put(torch.tensor([token]))
    streamer.end()
    pieces = [p for p in _released(streamer) if p is not streamer.stop_signal]
    assert "".join(pieces) == "Streatham Hill, 5 September — café"
