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

# The suites in .venv (editable installs), without tox's isolated environments: one pytest
# process per package, as in tox (all suites in one process do not pass yet: see issue 13's notes).
test-fast: setup
	@set -e; for d in shared/tests packages/*/tests tests; do echo "== $$d"; $(PY) -m pytest -q -p no:cacheprovider $$d; done

tables: setup
	$(PY) scripts/gen_tables.py

lint: setup
	$(VENV)/bin/lint-imports --config .importlinter

clean:
	rm -rf $(WORK) .tox build dist
