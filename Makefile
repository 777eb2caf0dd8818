# The README's two commands: `make dev` and `make test`.
# A Python 3.13 interpreter: PATH first, then pyenv (ops/find-python.sh); PYTHON=... overrides.
PYTHON ?= $(shell bash ops/find-python.sh)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-py313

.PHONY: dev stack test install system-packages bench-packages lighthouse deploy-tools clean translations vendor-swagger-ui

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || exit 1
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null || { echo "error: $(PYTHON) is not Python 3.13 or newer (Zelly needs 3.13)"; exit 1; }
	@# A venv of an older Python (this checkout was on 3.11) is rebuilt, not reused.
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## The Debian packages the tests run for real (dnsmasq, chromium, pebble, openssl).
system-packages:
	@bash ops/system-packages.sh

## What bench/ needs beyond the tests' packages (wrk, the load generator); no test runs it.
bench-packages: system-packages
	@bash ops/system-packages.sh --bench

## make dev: install, migrate, seed the demo on first run, run the dev stack in the foreground.
dev: $(STAMP)
	$(BIN)/zelly dev

## make stack: the production topology on this machine (Caddy, edge, two origins, a worker per queue, the
## schedulers, the store-events consumer) on MariaDB + Redis; one Ctrl-C stops it all (docs/operations.md, Topology).
stack: $(STAMP)
	$(BIN)/zelly stack

## Lighthouse for tests/storefront/test_lighthouse.py: the version pinned in tests/lighthouse/package-lock.json
## (npm ci installs exactly that tree; it runs again only when the lock file changes).
LIGHTHOUSE_STAMP := tests/lighthouse/node_modules/.package-lock.json
$(LIGHTHOUSE_STAMP): tests/lighthouse/package-lock.json | system-packages
	npm ci --prefix tests/lighthouse --no-audit --no-fund --loglevel=error
	@touch $(LIGHTHOUSE_STAMP)

lighthouse: $(LIGHTHOUSE_STAMP)

## checkov for tests/deploy/test_terraform.py, in a venv of its own: it pins packaging<24, which the
## test venv's pytest refuses (docs/decisions.md, "Deployment files checked without Docker, Terraform or AWS").
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
$(CHECKOV_STAMP):
	@test -n "$(PYTHON)" || exit 1
	rm -rf $(CHECKOV_VENV) && $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	@touch $(CHECKOV_STAMP)

deploy-tools: $(CHECKOV_STAMP)

## make test: install with test extras and run the whole suite.
test: $(STAMP) system-packages lighthouse deploy-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) var .pytest_cache

## make translations: extract the theme's strings, merge them into every language, compile the .mo files.
## The .po and .mo files are committed; tests/storefront/test_translations.py checks they agree.
LANGUAGES := de fr es ja ar en
translations: $(STAMP)
	$(BIN)/pybabel extract -F storefront/babel.cfg -k text --no-location --sort-output --project=Zelly --copyright-holder=Zelly -o storefront/locales/messages.pot .
	@for lang in $(LANGUAGES); do \
	  test -f storefront/locales/$$lang/LC_MESSAGES/messages.po || $(BIN)/pybabel init -D messages -i storefront/locales/messages.pot -d storefront/locales -l $$lang; \
	done
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -D messages -i storefront/locales/messages.pot -d storefront/locales
	$(BIN)/pybabel compile --statistics -D messages -d storefront/locales

## make vendor-swagger-ui: refresh the API reference's renderer from npm (committed; make test needs no npm).
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI_DIR := origin/web/seller/api/reference_assets/swagger-ui
vendor-swagger-ui:
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && tar xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz && \
	  cp package/swagger-ui-bundle.js package/swagger-ui.css package/LICENSE package/NOTICE package/swagger-ui-bundle.js.LICENSE.txt $(CURDIR)/$(SWAGGER_UI_DIR)/ && \
	  echo "swagger-ui-dist $(SWAGGER_UI_VERSION) (npm), unmodified; refresh with: make vendor-swagger-ui" > $(CURDIR)/$(SWAGGER_UI_DIR)/VERSION && rm -rf $$tmp
