# The two commands a newcomer needs: `make lab` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHAPTER ?= notebooks/00_welcome.ipynb
NBVAL_DIRS := notebooks solutions

.PHONY: lab test install outputs exercises bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make lab: install, start the sandbox, open JupyterLab on chapter 00 (terminal, AWS CLI and git see the sandbox)
lab: $(STAMP)
	$(BIN)/flovtrain sandbox start
	eval "$$($(BIN)/flovtrain sandbox env)" && PATH="$(abspath $(BIN)):$$PATH" \
	  $(BIN)/jupyter lab --ip=127.0.0.1 --ServerApp.root_dir=. $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(CHAPTER)

## make test: install, then every test: unit tests, nbval (strict) over notebooks and solutions, browser test
test: $(STAMP)
	$(BIN)/python -m pytest tests $(NBVAL_DIRS) --nbval --nbval-sanitize-with=tests/nbval_sanitize.cfg

## make outputs: re-execute and store every notebook's outputs (after changing a chapter or the sandbox)
outputs: $(STAMP)
	tools/store_outputs.sh

exercises: $(STAMP)
	$(BIN)/flovtrain exercises build

bench: $(STAMP)
	$(BIN)/python -m flovtrain.bench

clean:
	rm -rf $(VENV) build *.egg-info
