# Keydesk: `make run` serves the app, `make test` runs the whole suite. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 2
PYTEST_ARGS ?=

VENDOR := static/vendor/htmx.min.js static/vendor/pico.min.css

.PHONY: run dev test setup setup-test init-db lint bench clean

run: setup init-db
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

dev: setup init-db
	$(BIN)/flask --app wsgi run --debug --host $(HOST) --port $(PORT)

test: setup-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed-app $(VENDOR)

setup-test: setup $(VENV)/.installed-test

init-db: setup
	$(BIN)/flask --app wsgi init-db

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed-app: $(VENV)/.created pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-app pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

static/vendor/htmx.min.js: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

static/vendor/pico.min.css: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/@picocss/pico/css/pico.min.css $@

lint: setup-test
	$(BIN)/ruff check .

bench: setup-test
	$(BIN)/python bench/keys_page.py
	$(BIN)/python bench/verify.py

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
