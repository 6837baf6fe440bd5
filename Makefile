# Two commands do all set-up: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Every Python package at the version and hash in a lock file; `make lock` refreshes them.
DEV_LOCK := requirements/dev.lock
RUNTIME_LOCK := requirements/runtime.lock
BUILD_LOCK := requirements/build.lock
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --universal --python-version 3.11
AXE := node_modules/axe-core/axe.min.js
DEMO_DIR ?= out
DEMO_ROWS ?= 200
DEMO_VIDEOS ?= 4

# Fonts for Latin, Turkish, Persian/Arabic; Pango + HarfBuzz for WeasyPrint.
DEMO_DEBS := fonts-noto-core fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 \
             libharfbuzz-subset0 shared-mime-info python3-venv python3-pip \
             ffmpeg espeak-ng fontconfig
# Tests also drive Debian's Chromium, rasterise PDFs with poppler and inject npm's axe-core.
TEST_DEBS := $(DEMO_DEBS) chromium poppler-utils redis-server cmd:npm

.PHONY: help demo test check deps-demo deps-test install lock clean

help:
	@echo "make demo   install what is missing, render the sample campaign, print where it is"
	@echo "make test   install what is missing, run the whole test suite"
	@echo "make check  ruff format --check, ruff check, mypy on renderer/"
	@echo "make lock   refresh requirements/*.lock to the newest versions pyproject.toml allows"

deps-demo:
	@scripts/ensure-debs.sh $(DEMO_DEBS)

deps-test:
	@scripts/ensure-debs.sh $(TEST_DEBS)

# Exact versions with hashes, nothing resolved at install time; the project itself is installed
# editable without build isolation (setuptools comes from the lock too).
$(STAMP): pyproject.toml $(DEV_LOCK)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(DEV_LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $(STAMP)

install: $(STAMP)

$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(AXE)

demo: deps-demo $(STAMP)
	@mkdir -p $(DEMO_DIR)/data
	$(VENV)/bin/tailor sample-data bill-summary --rows $(DEMO_ROWS) --seed 1 --out $(DEMO_DIR)/data/recipients.csv
	$(VENV)/bin/tailor campaign bill-summary $(DEMO_DIR)/data/recipients.csv --campaign demo --out $(DEMO_DIR) --overwrite
	head -n $$(( $(DEMO_VIDEOS) + 1 )) $(DEMO_DIR)/data/recipients.csv > $(DEMO_DIR)/data/video-recipients.csv
	$(VENV)/bin/tailor campaign bill-summary $(DEMO_DIR)/data/video-recipients.csv --campaign demo-video \
	  --outputs microsite,pdf,video --out $(DEMO_DIR) --overwrite
	@first=$$(head -n1 $(DEMO_DIR)/bill-summary/demo/_campaign/manifest.jsonl | $(PY) -c 'import json,sys; print(json.load(sys.stdin)["recipient_id"])'); \
	echo; echo "Open a recipient's microsite:  xdg-open $(DEMO_DIR)/bill-summary/demo/$$first/index.html"; \
	echo "Open the same bill as a PDF:  xdg-open $(DEMO_DIR)/bill-summary/demo/$$first/bill.pdf"; \
	echo "Watch a personalized video:   xdg-open $(DEMO_DIR)/bill-summary/demo-video/$$first/video.mp4"; \
	echo "  (its page embeds it:        xdg-open $(DEMO_DIR)/bill-summary/demo-video/$$first/index.html)"; \
	echo "Render one sample:            $(VENV)/bin/tailor render bill-summary --sample fa-IR --out $(DEMO_DIR)"

test: deps-test $(STAMP) $(AXE)
	$(PY) -m pytest --durations=25

check: $(STAMP)
	$(VENV)/bin/ruff format --check renderer tests bench
	$(VENV)/bin/ruff check renderer tests bench
	$(VENV)/bin/mypy

# The dev lock first (runtime + test + bench + build), then the runtime and build locks held to
# the same versions, so the service image and the test suite run the same packages.
lock: $(STAMP)
	$(UV_COMPILE) --upgrade pyproject.toml requirements/build.in --extra test --extra bench -o $(DEV_LOCK)
	$(UV_COMPILE) pyproject.toml -c $(DEV_LOCK) -o $(RUNTIME_LOCK)
	$(UV_COMPILE) requirements/build.in -c $(DEV_LOCK) -o $(BUILD_LOCK)
	$(UV_COMPILE) --upgrade requirements/schemathesis.in -o requirements/schemathesis.lock
	npm install --package-lock-only --no-audit --no-fund --loglevel=error
	@echo "Locks refreshed; run make test, then commit requirements/ and package-lock.json."

clean:
	rm -rf $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
