# Two commands do all set-up: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
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

.PHONY: help demo test check deps-demo deps-test install clean

help:
	@echo "make demo   install what is missing, render the sample campaign, print where it is"
	@echo "make test   install what is missing, run the whole test suite"
	@echo "make check  ruff format --check, ruff check, mypy on renderer/"

deps-demo:
	@scripts/ensure-debs.sh $(DEMO_DEBS)

deps-test:
	@scripts/ensure-debs.sh $(TEST_DEBS)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

$(AXE): package.json
	npm install --no-audit --no-fund --loglevel=error
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
	$(PY) -m pytest

check: $(STAMP)
	$(VENV)/bin/ruff format --check renderer tests bench
	$(VENV)/bin/ruff check renderer tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
