# Incassa: the two commands a user needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format messages bench clean demo

$(STAMP): pyproject.toml scripts/bootstrap-venv scripts/system-deps
	sh scripts/bootstrap-venv "$(PYTHON)" "$(VENV)"
	sh scripts/system-deps
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test,postgres,redis]"
	touch $(STAMP)

install: $(STAMP)

messages: install
	$(BIN)/python scripts/compile_messages.py

run: install messages
	$(BIN)/incassa migrate --noinput
	$(BIN)/incassa demo-data --if-empty
	@echo "Serving Incassa on http://$(HOST):$(PORT)/ with one background worker"
	$(BIN)/incassa serve $(HOST):$(PORT)

demo: install messages
	$(BIN)/incassa migrate --noinput
	$(BIN)/incassa demo-data --if-empty

lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

format: install
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts

test: install messages lint
	sh scripts/browser-deps
	$(BIN)/pytest -n 2

bench: install messages
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build dist src/*.egg-info

# The production layout on this machine: PostgreSQL, gunicorn behind nginx on
# http://127.0.0.1:8080/, two workers and the scheduler, demo data loaded once
# (docs/deployment.md, "Try it locally"). `scripts/production-local stop` stops it all.
.PHONY: production-local
production-local: install messages
	$(BIN)/python scripts/production-local start --demo-data
