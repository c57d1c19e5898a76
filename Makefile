# One entry point for people and CI. Needs only python3 (3.11+) on the PATH.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# checkov pins many libraries of its own; it lives in its own virtualenv so it cannot
# shift the versions the function is tested with.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_VERSION ?= 3.3.30
# The same for the client generator tests/test_openapi_client.py runs on openapi.yaml.
CLIENT_GEN_VENV ?= .venv-openapi-client
CLIENT_GEN_VERSION ?= 0.29.1

.PHONY: install run test lint typecheck pytest infra-check bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## make run: both local stand-ins plus the function on http://localhost:8080
run: install
	$(PY) -m emulators.stack

## make test: the whole check (lint, types, tests, infra)
test: lint typecheck pytest infra-check

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy main.py relay handlers emulators tests bench

pytest: install $(CLIENT_GEN_VENV)/.installed
	OPENAPI_PYTHON_CLIENT=$(CLIENT_GEN_VENV)/bin/openapi-python-client $(BIN)/pytest

$(CLIENT_GEN_VENV)/.installed:
	$(PYTHON) -m venv $(CLIENT_GEN_VENV)
	$(CLIENT_GEN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CLIENT_GEN_VENV)/bin/python -m pip install --quiet openapi-python-client==$(CLIENT_GEN_VERSION)
	touch $@

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

infra-check: $(CHECKOV_VENV)/.installed
	CHECKOV=$(CHECKOV_VENV)/bin/checkov bash infra/checkov.sh

## make bench: the benchmark suite (not part of make test)
bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(CLIENT_GEN_VENV) .pytest_cache .mypy_cache .ruff_cache
