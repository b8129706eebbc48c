# OneTrip — the commands a newcomer needs. `make run` and `make test` work on a fresh clone:
# they create .venv, install the project and the embedded engine, then do their job.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ENGINE := engine

.PHONY: run test test-cluster lint bench soak screenshots browser deps clean

deps: $(VENV)/.installed $(ENGINE)/node_modules/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (found " + sys.version.split()[0] + "): set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(ENGINE)/node_modules/.installed: $(ENGINE)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is not installed: install Node.js >= 18 with npm (e.g. apt-get install nodejs npm), or set COUCHDB_URL"; exit 1; }
	cd $(ENGINE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium and a CJK font for the browser tests, screenshots and receipt images
# (never a downloaded browser). Skipped with a message where apt-get is not available.
browser:
	@if ! command -v chromium >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  echo "installing Debian chromium and fonts-noto-cjk for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	  || echo "could not install chromium: browser tests will be skipped"; fi

run: deps
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
