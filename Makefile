# One entry point for people and CI. Needs only python3 (3.11+) on the PATH.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# checkov pins many libraries of its own; it lives in its own virtualenv so it cannot
# shift the versions the function is tested with.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_VERSION ?= 3.3.30
# genai-prices is only a source for relay/_prices.json (make prices), never a runtime import.
PRICES_VENV ?= .venv-prices
GENAI_PRICES_VERSION ?= 0.2.3
# The same for the client generator tests/process/test_openapi_client.py runs on openapi.yaml.
CLIENT_GEN_VENV ?= .venv-openapi-client
CLIENT_GEN_VERSION ?= 0.29.1
# The newest Python these machines have (pyenv). The deployed runtime (infra `runtime`, default
# python313) is tested on it: the unit-level tests, and the HTTP function served by
# functions-framework over real sockets. The full suite runs on $(PYTHON) above.
PY313 ?= PYENV_VERSION=3.13.0 python3
PY313_VENV ?= .venv-py313
PY313_TESTS ?= tests/unit tests/process/test_function_http.py
# Terraform's Google provider schema check, kept beside this repository in shared/tools (CI:
# ../shared; a git worktree one level deeper: ../../shared).
TF_SCHEMA_CHECK ?= $(firstword $(wildcard ../shared/tools/tf-schema-check ../../shared/tools/tf-schema-check))

.PHONY: install run test test-fast lint typecheck pytest test-py313 infra-check tf-fmt tf-schema infra-docs bench prices clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## make run: both local stand-ins plus the function on http://localhost:8080
run: install
	$(PY) -m emulators.stack

## make test: the whole check (lint, types, tests, the tests on Python 3.13, infra)
test: lint typecheck pytest test-py313 infra-check tf-fmt tf-schema

## make test-fast: the in-process tests only (tests/unit, tests/emulators), not those marked slow
test-fast: install
	$(BIN)/pytest -m "not slow" tests/unit tests/emulators

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy main.py relay handlers emulators tests bench

pytest: install $(CLIENT_GEN_VENV)/.installed
	OPENAPI_PYTHON_CLIENT=$(CLIENT_GEN_VENV)/bin/openapi-python-client $(BIN)/pytest

$(PY313_VENV)/.installed: requirements.txt requirements-dev.txt
	$(PY313) -m venv $(PY313_VENV)
	@$(PY313_VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' \
		|| { echo "$(PY313) is not Python 3.13: install it (pyenv install 3.13.0) or set PY313" >&2; exit 1; }
	$(PY313_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PY313_VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	touch $@

## make test-py313: the unit-level tests and the HTTP function on Python 3.13
test-py313: $(PY313_VENV)/.installed
	$(PY313_VENV)/bin/pytest -q -p no:cacheprovider $(PY313_TESTS)

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

## make tf-fmt: every .tf file under infra/ and examples/ formatted as terraform fmt writes it
tf-fmt:
	@command -v terraform >/dev/null || { echo "terraform is not on the PATH (needed for terraform fmt)" >&2; exit 1; }
	terraform fmt -check -recursive infra
	terraform fmt -check -recursive examples

## make tf-schema: infra/ and examples/ against the Google provider's schema, offline once cached
tf-schema:
	@test -n "$(TF_SCHEMA_CHECK)" || { echo "tf-schema-check not found in ../shared/tools or ../../shared/tools: set TF_SCHEMA_CHECK to its path" >&2; exit 1; }
	$(TF_SCHEMA_CHECK)

## make infra-docs: regenerate the Inputs/Outputs tables of infra/README.md from the .tf files
infra-docs: install
	$(PY) infra/docs.py

## make bench: the benchmark suite (not part of make test), then the gateway client's candidates
## (conformance table, CPU per request, 1,000 in flight: docs/transport.md)
bench: install
	$(PY) -m bench
	$(PY) -m bench.clients

## make prices: regenerate relay/_prices.json from genai-prices (then review the diff)
prices:
	$(PYTHON) -m venv $(PRICES_VENV)
	$(PRICES_VENV)/bin/python -m pip install --quiet genai-prices==$(GENAI_PRICES_VERSION)
	$(PRICES_VENV)/bin/python tools/refresh_prices.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(PRICES_VENV) $(CLIENT_GEN_VENV) $(PY313_VENV) .pytest_cache .mypy_cache .ruff_cache
