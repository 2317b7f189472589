# The two commands of README.md, and the checks behind them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
LOCAL_PG := postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
DRILL_ARGS ?=

.PHONY: run test lint install bench worker beat simulator clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The zero-setup demo: SQLite, eager tasks, demo data, logins printed.
run: export DEBUG := true
run: export DATABASE_URL := sqlite:///$(CURDIR)/demo.sqlite3
run: export CELERY_BROKER_URL :=
run: export EMAIL_URL := filemail://$(CURDIR)/demo-mail
run: export TWO_FACTOR_REQUIRED ?= false
run: $(STAMP)
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py seed_demo
	@echo "Serving MSP Portal on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports

# With DATABASE_URL unset the suite uses the local PostgreSQL when one answers.
test: $(STAMP) lint
	@if [ -z "$$DATABASE_URL" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  export DATABASE_URL=$(LOCAL_PG); fi; \
	if [ -z "$$DATABASE_URL" ] && [ "$$CI" = "true" ]; then \
	  echo "CI needs PostgreSQL on 127.0.0.1:5432 (see .ci/run)"; exit 1; fi; \
	echo "Testing on $${DATABASE_URL:-SQLite}"; \
	DATABASE_URL=$$DATABASE_URL $(PY) -m pytest -m "not drill" $(PYTEST_ARGS) && \
	echo "Fault drills (they restart services, so they run alone):" && \
	DATABASE_URL=$$DATABASE_URL $(PY) -m pytest -m drill -p no:xdist $(DRILL_ARGS)

bench: $(STAMP)
	@if [ -z "$$DATABASE_URL" ]; then export DATABASE_URL=$(LOCAL_PG); fi; \
	DATABASE_URL=$$DATABASE_URL $(PY) -m bench

worker: $(STAMP)
	$(VENV)/bin/celery -A msp_portal worker --loglevel=INFO

beat: $(STAMP)
	$(VENV)/bin/celery -A msp_portal beat --loglevel=INFO

simulator: $(STAMP)
	DEBUG=true $(PY) manage.py itsm_simulator --port 8008

clean:
	rm -rf $(VENV) demo.sqlite3 staticfiles .pytest_cache .ruff_cache
