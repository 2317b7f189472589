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

.PHONY: run demo-env test lint install bench worker beat simulator clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The zero-setup demo: SQLite, eager tasks, demo data, logins printed; links in e-mails for the
# port it serves, e-mails written to demo-mail/, the ITSM sync reading the shipped export.
# `make demo-env` prints it: `env $(make -s demo-env) .venv/bin/python manage.py sync_itsm`.
TWO_FACTOR_REQUIRED ?= false
# Work orders of the demo go to the AR simulator the server starts on this port (fulfilment/itsm.py).
FULFILMENT_DEMO_PORT ?= 8009
DEMO_ENV = DEBUG=true \
	DATABASE_URL=sqlite:///$(CURDIR)/demo.sqlite3 \
	CELERY_BROKER_URL= \
	CELERY_TASK_EAGER_PROPAGATES=false \
	EMAIL_URL=filemail:///$(CURDIR)/demo-mail \
	PORTAL_BASE_URL=http://$(HOST):$(PORT) \
	ITSM_FILE=$(CURDIR)/itsm_sync/demo/demo_itsm.json \
	FULFILMENT_DEMO_SIMULATOR_PORT=$(FULFILMENT_DEMO_PORT) \
	TWO_FACTOR_REQUIRED=$(TWO_FACTOR_REQUIRED)

run: $(STAMP)
	@env $(DEMO_ENV) $(PY) manage.py migrate --no-input -v 0
	@env $(DEMO_ENV) $(PY) manage.py seed_demo
	@env $(DEMO_ENV) $(PY) manage.py seed_fulfilment
	@echo "Serving MSP Portal on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	@env $(DEMO_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

demo-env:
	@printf '%s\n' $(DEMO_ENV)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports

# The suite runs on PostgreSQL only: DATABASE_URL when set, else the local server when one
# answers at 127.0.0.1:$(LOCAL_PG_PORT), else a private one that tests/servers.py starts for the
# run and stops after it; Redis likewise (TEST_REDIS_URL, 127.0.0.1:$(LOCAL_REDIS_PORT)).
test: export LOCAL_PG_PORT ?= 5432
test: export LOCAL_REDIS_PORT ?= 6379
test: $(STAMP) lint
	$(PY) -m tests.servers -- $(PY) -m pytest -m "not drill" $(PYTEST_ARGS)
	@echo "Fault drills (they restart services, so they run alone):"
	$(PY) -m tests.servers -- $(PY) -m pytest -m drill -p no:xdist $(DRILL_ARGS)

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
	rm -rf $(VENV) demo.sqlite3 demo-mail staticfiles .pytest_cache .ruff_cache
