# vidforge — two commands: `make demo` and `make test`. Both create/reuse .venv.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# Pins shared with the Dockerfile: requirements/constraints.txt (+ uv-overrides.txt).
CONSTRAINTS := requirements/constraints.txt
TORCH := $(shell grep '^torch==' $(CONSTRAINTS))
UV := $(shell grep '^uv==' $(CONSTRAINTS))
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv demo test test-fast lint bench clean

venv: $(STAMP)

# torch goes in first with pip (it finds the CPU wheel on disk; uv would fetch a CUDA
# build); uv then installs the rest quickly with torch already satisfied.
$(STAMP): pyproject.toml requirements/uv-overrides.txt $(CONSTRAINTS)
	@test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q "$(TORCH)" "$(UV)"
	$(VENV)/bin/uv pip install -q -p $(VENV)/bin/python -c $(CONSTRAINTS) --overrides requirements/uv-overrides.txt -e ".[dev]"
	@touch $(STAMP)

demo: venv
	$(VENV)/bin/vidforge demo

test: venv
	$(VENV)/bin/pytest -q -p no:cacheprovider

test-fast: venv
	$(VENV)/bin/pytest -q -m "not slow"

lint: venv
	$(VENV)/bin/ruff check .

bench: venv
	@for b in bench/*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf .vidforge .airflow demo-output
