# The README's two commands: `make dev` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: dev test install system-packages clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (Zelly needs Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## The Debian packages the tests run for real (dnsmasq, chromium, pebble, openssl).
system-packages:
	@bash ops/system-packages.sh

## make dev: install, migrate, seed the demo on first run, run the dev stack in the foreground.
dev: $(STAMP)
	$(BIN)/zelly dev

## make test: install with test extras and run the whole suite.
test: $(STAMP) system-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
