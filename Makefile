# SemPelMas: `make run` serves the demo, `make test` runs the checks. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := run

PYTHON  ?= python3.11
HOST    ?= 127.0.0.1
PORT    ?= 5000
WORKERS ?= 2
PYTEST_ARGS ?=

VENV  := .venv
BIN   := $(VENV)/bin
# The address served, for every process of `make run`: in development, when PUBLIC_URL is unset, the links in
# letters' QR codes and in messages point at it (sempelmas/config.py; HOST=0.0.0.0 → this machine's LAN address).
SERVED := SEMPELMAS_HOST='$(HOST)' SEMPELMAS_PORT='$(PORT)'
FLASK := $(SERVED) $(BIN)/flask --app app

# Debian packages the tests drive: browser, PDF rasteriser and signature checker, NSS tools, QR decoder.
TEST_DEBS := chromium chromium-driver poppler-utils libnss3-tools zbar-tools rsync

.PHONY: run serve test lint translations compile-translations system-deps bench-deps clean

# --- environment -----------------------------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create $(VENV). On Debian: apt-get install -y python3-venv" >&2; rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed.
$(VENV)/.req-stamp: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-stamp: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.req-stamp

instance:
	mkdir -p instance

# Created once and never overwritten: sessions and tokens survive a restart.
instance/secret_key: | instance $(BIN)/python
	umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_hex(32))' > $@.tmp && mv $@.tmp $@
	chmod 600 $@

# Compiled catalogues (.mo) are not committed; an empty or missing catalogue is fine.
compile-translations: $(VENV)/.req-stamp
	@if compgen -G 'translations/*/LC_MESSAGES/messages.po' > /dev/null; then \
	  $(BIN)/pybabel -q compile -d translations; \
	fi

# --- run -------------------------------------------------------------------------------------

run: $(VENV)/.req-stamp instance/secret_key compile-translations
	$(FLASK) db upgrade
	@if [ "$${SEMPELMAS_ENV:-}" = production ]; then \
	  echo "SEMPELMAS_ENV=production: demo data not seeded."; \
	else \
	  $(FLASK) seed-demo; \
	fi
	$(FLASK) seed-catalogue
	$(FLASK) pki-init
	@$(MAKE) --no-print-directory serve

# gunicorn and the background process (`flask background`: the job worker and the notifier in one process) run
# together: when make is stopped (Ctrl-C, SIGTERM) or gunicorn exits, the trap stops both. gunicorn reads
# deploy/gunicorn.conf.py (the app preloaded in the master so the workers share it: memory, issue 17). Newer gunicorn opens a control socket in ~/.gunicorn by
# default; SemPelMas does not use it, so it is switched off where the option exists.
# --timeout: gunicorn kills a sync worker whose request runs longer (and the client gets a 502/500). Long work
# runs as jobs (imports in `flask worker`, batch signing in its own process), so the longest request left is
# one letter signed while others sign: up to LOCK_WAIT_SECONDS (60 s, services/letters/issuing.py) waiting for the
# database's write lock, then ~0.2 s; a 12-month register export takes ~10 s. 90 s is above both, so no
# legitimate request is cut off half-way, and still ends a worker that is truly stuck.
GUNICORN_TIMEOUT ?= 90
serve:
	@ctl=; $(BIN)/gunicorn --help | grep -- --no-control-socket >/dev/null && ctl=--no-control-socket; \
	$(FLASK) background & worker=$$!; \
	$(SERVED) $(BIN)/gunicorn -c deploy/gunicorn.conf.py --bind '$(HOST):$(PORT)' --workers '$(WORKERS)' --worker-class sync \
	  --timeout '$(GUNICORN_TIMEOUT)' --access-logfile - $$ctl app:app & web=$$!; \
	stop() { kill -TERM $$web $$worker 2>/dev/null; wait $$web $$worker 2>/dev/null; }; \
	trap 'stop; exit 130' INT; trap 'stop; exit 143' TERM; trap stop EXIT; \
	echo "SemPelMas: listening on $(HOST):$(PORT); letters and messages link to $$($(FLASK) public-url)  (Ctrl-C to stop)"; \
	wait $$web

# --- checks ----------------------------------------------------------------------------------

# Installs the Debian packages as root; otherwise says how, and the e2e tests skip themselves.
system-deps:
	@missing=""; \
	for p in $(TEST_DEBS); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "Installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "Missing Debian packages:$$missing (browser/PDF tests will be skipped). Install them with:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $(TEST_DEBS)"; \
	fi

# wrk, the load generator of bench/bench_http.py and bench/bench_pages.py (bench_pages.py uses a Python one without
# it). Not needed by the tests.
bench-deps:
	@if command -v wrk >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; \
	else \
	  echo "wrk is missing. Install it with: sudo apt-get install -y wrk"; \
	fi

lint: $(VENV)/.dev-stamp
	$(BIN)/ruff check .

# Lint and tests both run so one report shows everything; either failing fails the target.
test: $(VENV)/.dev-stamp system-deps compile-translations
	@lint=0; $(BIN)/ruff check . || lint=$$?; \
	tests=0; $(BIN)/pytest --cov=sempelmas --cov-report=term --cov-fail-under=85 $(PYTEST_ARGS) || tests=$$?; \
	if [ $$lint -ne 0 ]; then echo "ruff check failed" >&2; fi; \
	if [ $$tests -ne 0 ]; then echo "pytest failed (exit $$tests)" >&2; fi; \
	[ $$lint -eq 0 ] && [ $$tests -eq 0 ]

# --- translations ----------------------------------------------------------------------------

# Indonesian is the source language; English is the one catalogue.
translations: $(VENV)/.req-stamp
	mkdir -p translations
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy -k _l -w 120 \
	  --ignore-dirs=".*" --project SemPelMas -o translations/messages.pot .
	@if [ -f translations/en/LC_MESSAGES/messages.po ]; then \
	  $(BIN)/pybabel -q update -w 120 -i translations/messages.pot -d translations -l en; \
	else \
	  $(BIN)/pybabel -q init -w 120 -i translations/messages.pot -d translations -l en; \
	fi

# --- housekeeping ----------------------------------------------------------------------------

# Never touches instance/ (secret key, database, uploads).
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache htmlcov .coverage .coverage.* test-results
	find . -path ./instance -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find translations -name '*.mo' -delete 2>/dev/null || true
