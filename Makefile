# Tessera: `make demo` and `make test` each set everything up by themselves.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
WORK := work_dirs

.PHONY: setup demo test test-fast tables lint clean
.DEFAULT_GOAL := help

help:
	@echo "make demo   set up .venv, train + evaluate the core demo with mim, print its accuracy"
	@echo "make test   set up .venv, run every package's tests in its own environment (tox)"

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	@bash scripts/run_tests.sh

# Every suite in one pytest process in .venv (editable installs), without tox's isolated
# environments: quicker to iterate; `make test` is what CI runs.
test-fast: setup
	$(PY) -m pytest -q shared/tests packages/*/tests tests

tables: setup
	$(PY) scripts/gen_tables.py

lint: setup
	$(VENV)/bin/lint-imports --config .importlinter

clean:
	rm -rf $(WORK) .tox build dist
