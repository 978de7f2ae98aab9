# Support Portal: `make run` to try it, `make test` to check it.
SHELL := /bin/bash
PYTHON ?= python
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000

# Local runs and tests use the embedded defaults; production sets these itself.
export DEBUG ?= true
export PYTHONDONTWRITEBYTECODE := 1

# The test database: the real PostgreSQL (pytest-django creates and drops test_portal).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run reset-demo test test-sqlite services browser vnu bench faults lint check-deploy clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

install: $(STAMP)

# The W3C Nu HTML Checker for tests/test_valid_html.py: the npm package pinned in
# package-lock.json, and Java to run it.
VNU_JAR := node_modules/vnu-jar/build/dist/vnu.jar
$(VNU_JAR): package.json package-lock.json
	bash scripts/ensure-vnu-tools.sh
	npm ci --no-audit --no-fund --loglevel=error
	touch $(VNU_JAR)

vnu: $(VNU_JAR)

## run: migrate, seed the demo data, then web + worker + beat on http://127.0.0.1:$(PORT)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} PATH="$(CURDIR)/$(BIN):$$PATH" \
		$(BIN)/honcho -f Procfile.dev start -p $(PORT)

## reset-demo: fresh demo data (every table emptied, the cache too, then seed_demo)
reset-demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py flush --noinput
	$(BIN)/python manage.py shell -c "from django.core.cache import cache; cache.clear()"
	$(BIN)/python manage.py seed_demo

## test: the whole suite on PostgreSQL and Redis (started if they are down), browser included
# The browser tests run on their own: Playwright's sync API keeps an event loop marked as
# running in its process, and async views (/health/) cannot run under WSGI beside it.
test: install services browser vnu
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(BIN)/pytest -n 2 --dist loadgroup -m "not browser"
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(BIN)/pytest -p no:xdist -m browser tests/browser

## test-sqlite: the suite on the embedded defaults (SQLite), no services needed
test-sqlite: install browser vnu
	$(BIN)/pytest -n 2 --dist loadgroup -m "not postgres and not integration and not browser"
	$(BIN)/pytest -p no:xdist -m "browser and not postgres" tests/browser

## faults: only the fault scenarios (real worker, beat and a private Redis on :6391)
faults: install services
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(BIN)/pytest -p no:xdist -m faults tests/faults

services:
	bash scripts/ensure-services.sh

browser:
	bash scripts/ensure-browser.sh

## bench: the performance benchmark on PostgreSQL (see README.md, Performance); BENCH_ARGS=--help
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal_bench
BENCH_BROKER_URL ?= redis://127.0.0.1:6379/14
BENCH_CACHE_URL ?= redis://127.0.0.1:6379/13
BENCH_PORT ?= 8160
bench: install services
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_BROKER_URL=$(BENCH_BROKER_URL) \
		BENCH_CACHE_URL=$(BENCH_CACHE_URL) BENCH_PORT=$(BENCH_PORT) \
		$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var db.sqlite3 node_modules
