# Keydesk: `make run` serves the app, `make test` runs the whole suite. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 2
PYTEST_ARGS ?=

VENDOR := static/vendor/htmx.min.js static/vendor/pico.min.css

# The drivers the configured URLs need (pyproject's extras): postgresql:// wants `postgres`, redis:// wants
# `redis`. Read from the environment and from the instance's config.py; `make test` installs both regardless.
INSTANCE_CONFIG := $(or $(KEYDESK_INSTANCE_PATH),instance)/config.py
CONFIGURED_URLS := $(KEYDESK_DATABASE_URL) $(KEYDESK_TEST_DATABASE_URL) $(KEYDESK_RATELIMIT_STORAGE_URL) \
	$(shell grep -hsE '^ *KEYDESK_(DATABASE_URL|RATELIMIT_STORAGE_URL) *=' $(INSTANCE_CONFIG))
APP_EXTRAS := $(if $(findstring postgres,$(CONFIGURED_URLS)),postgres) $(if $(findstring redis://,$(CONFIGURED_URLS)),redis)
APP_EXTRAS := $(strip $(APP_EXTRAS))
empty :=
space := $(empty) $(empty)
comma := ,
APP_STAMP := $(VENV)/.installed-app$(if $(APP_EXTRAS),-$(subst $(space),-,$(APP_EXTRAS)))

.PHONY: run dev test setup setup-test init-db lint bench screenshots clean

run: setup init-db
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

dev: setup init-db
	$(BIN)/flask --app wsgi run --debug --host $(HOST) --port $(PORT)

test: setup-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(APP_STAMP) $(VENDOR)

setup-test: setup $(VENV)/.installed-test

init-db: setup
	$(BIN)/flask --app wsgi init-db

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	touch $@

$(APP_STAMP): $(VENV)/.created pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.$(if $(APP_EXTRAS),[$(subst $(space),$(comma),$(APP_EXTRAS))])'
	touch $@

# The suite tests PostgreSQL and Redis too: every extra.
$(VENV)/.installed-test: $(APP_STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,postgres,redis]'
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

# docs/screenshots/<page>-<width>-<theme>.png: the main pages at 1440 and 390 px, light and dark, on demo data.
screenshots: setup-test
	$(BIN)/python -m tests.browser.screenshots

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
