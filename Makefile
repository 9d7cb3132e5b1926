# Gonghui 工会 — every command a person or CI needs. See README.md.
#
#   make run    set everything up and start the whole platform (Ctrl-C stops it)
#   make test   lint, format and type checks, docs checks, then the whole test suite
#   make docs   regenerate the API docs under docs/ and build the documentation site into site/
#   make infra  only Kafka, FerretDB and the SMTP catcher (for development)

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON3    ?= python3
UV_VERSION := 0.13.9
UV_VENV    := .cache/uv-venv
UV         := $(UV_VENV)/bin/uv
UV_STAMP   := $(UV_VENV)/.uv-$(UV_VERSION)
PY         := .venv/bin/python
RUFF       := .venv/bin/ruff

.PHONY: help venv run infra prepare test lint fmt docs bench web-assets chromium

help:
	@echo "make run | test | infra | prepare | lint | fmt | docs | bench"

# uv itself, pinned, in a small bootstrap venv under .cache (no global install).
$(UV_STAMP):
	$(PYTHON3) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

# The project environment, exactly as uv.lock says (rebuilt when the lock changes).
.venv: $(UV_STAMP) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras
	touch .venv

venv: .venv

# The web front end's browser files (htmx, Alpine.js, WeUI, axe-core) from the npm registry,
# pinned in deploy/web/assets.py; a stamp makes a second run free.
web-assets: .venv
	$(PY) -m deploy.web.assets

# Debian's Chromium for the browser tests (Playwright drives it; it cannot download its own),
# and a Chinese font so the screenshots can be read. Installed when missing and we are root
# (as in CI); anyone else is told the commands.
chromium:
	@if ! command -v chromium >/dev/null 2>&1 || [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium and fonts-wqy-microhei for the browser tests …"; \
	    apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else \
	    echo "The browser tests need Chromium and a Chinese font:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y chromium fonts-wqy-microhei" >&2; \
	    exit 1; \
	  fi; \
	fi

run: .venv web-assets
	$(PY) -m deploy.local run

infra: .venv
	$(PY) -m deploy.local infra

prepare: .venv
	$(PY) -m deploy.local prepare

# The suite runs on TEST_WORKERS processes (pytest-xdist), each with its own Kafka, FerretDB
# and SMTP catcher; a test file stays on one worker, so a module's stack starts once. Files go
# out in collection order (not largest first): the long end-to-end ones start at once, and the
# many short unit files even out the end.
# TEST_WORKERS=0 runs it all in this one process.
TEST_WORKERS ?= 2

test: .venv web-assets chromium
	$(RUFF) check .
	$(RUFF) format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports  # the layering contracts in pyproject.toml
	$(PY) -m deploy.docs --check
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

lint: .venv
	$(RUFF) check .
	$(RUFF) format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports

fmt: .venv
	$(RUFF) check --fix .
	$(RUFF) format .

# The generated API docs (docs/api, docs/events), then the site (mkdocs.yml) into the
# gitignored site/: --strict fails on a broken link, a missing image or a page not in the nav.
docs: .venv
	$(PY) -m deploy.docs
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

bench: .venv
	$(PY) -m deploy.bench
