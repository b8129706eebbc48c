# OneTrip — the commands a newcomer needs. `make run` and `make test` work on a fresh clone:
# they create .venv, install the project and the embedded engine, then do their job.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ENGINE := engine

.PHONY: run test test-cluster lint bench soak screenshots browser fonts deps clean

deps: $(VENV)/.installed $(ENGINE)/node_modules/.installed

# setuptools says "Editable installation." on every editable install, a warning that is
# information only (nothing to fix): the filter keeps `make run` free of warnings.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (found " + sys.version.split()[0] + "): set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(ENGINE)/node_modules/.installed: $(ENGINE)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is not installed: install Node.js >= 18 with npm (e.g. apt-get install nodejs npm), or set COUCHDB_URL"; exit 1; }
	cd $(ENGINE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# A CJK font (Debian's fonts-noto-cjk): the app's web font subset and the receipt images are
# built from it, so `make run` needs it as much as the tests. Skipped with a message where
# apt-get is not available.
fonts:
	@if ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  echo "installing fonts-noto-cjk (the app's Chinese font and receipt images)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null) \
	  || echo "could not install fonts-noto-cjk: Chinese text may show as boxes"; fi

# Debian's Chromium for the browser tests and screenshots (never a downloaded browser).
browser: fonts
	@if ! command -v chromium >/dev/null; then \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: browser tests will be skipped"; fi

run: deps fonts
	$(BIN)/onetrip up

test: deps browser
	$(BIN)/pytest -q -m "not soak and not cluster"

# The three-node Apache CouchDB suite: it starts, joins, stops and restarts its own nodes with
# the release script COUCHDB_SH (`couchdb.sh start DIR PORT PASSWORD NAME` / `stop DIR`).
test-cluster: deps
	@test -n "$(COUCHDB_SH)" || { echo "set COUCHDB_SH to Apache CouchDB's couchdb.sh (see README)"; exit 2; }
	COUCHDB_SH="$(COUCHDB_SH)" $(BIN)/pytest -q -m cluster tests/cluster

soak: deps
	$(BIN)/pytest -q -m soak

lint: deps
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: deps
	$(BIN)/python -m bench

screenshots: deps browser
	$(BIN)/python -m tools.screenshots

clean:
	rm -rf $(VENV) $(ENGINE)/node_modules
