"""citeqa's evaluation suite: whether answers are true, cited and honest about what the documents don't say.

dataset (JSONL sets) → runner (one Assistant per generator; retrieval per mode) → metrics (pure scores)
→ summary (per configuration and type) → compare (regressions vs the previous run) → report and plots.
`citeqa eval` is `eval.cli`; `--set halueval` builds its set and corpus with `eval.halueval_set` from the
HaluEval-QA rows that `eval.halueval` reads.
"""
