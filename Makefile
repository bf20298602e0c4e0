# Two commands on a fresh machine:
#   make lab   - create .venv, install hqsam-nb, open the tutorial notebooks in JupyterLab
#   make test  - create .venv, install hqsam-nb with its test tools, Ray and ONNX (and Chromium on Debian), run every
#                test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: lab app test lint bench install browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -e ".[test,ray,onnx]"
	touch $(STAMP)

install: $(STAMP)

# JupyterLab on localhost only, token authentication on (JupyterLab's default: the URL it prints carries the
# token). As root (a fresh cloud VM or container) Jupyter refuses to start without --allow-root: pass it only
# then, and say so. LAB_FLAGS adds options, e.g. make lab LAB_FLAGS="--no-browser --port=8890".
LAB_FLAGS ?=
lab: install
	@if [ "$$(id -u)" = 0 ]; then \
	  echo "make lab: running as root, so JupyterLab gets --allow-root (still localhost only, token on)"; \
	  allow_root=--allow-root; else allow_root=; fi; \
	exec $(BIN)/jupyter lab $$allow_root --ServerApp.ip=127.0.0.1 $(LAB_FLAGS) notebooks/

# The interactive notebook as a web app, on localhost only (Voila's default), no public link.
app: install
	$(BIN)/voila notebooks/02_interactive_prompting.ipynb

# Chromium for the real-browser widget test (Debian package; nothing downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

test: install browser
	$(BIN)/ruff check hqsam_nb tests benchmarks docker
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check hqsam_nb tests benchmarks docker
	PATH="$(abspath $(BIN)):$$PATH" .ci/lint.sh

bench: install
	$(BIN)/python benchmarks/bench_pair.py

clean:
	rm -rf $(VENV) .pytest_cache artifacts
