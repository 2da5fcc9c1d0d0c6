# The two commands a newcomer needs: `make lab` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHAPTER ?= notebooks/00_welcome.ipynb
NBVAL_DIRS := notebooks solutions

LOCK := requirements.lock
# JupyterHub's proxy (make hub, tests/test_hub.py), from npm at the version the package-lock pins
CHP := deploy/jupyterhub/node_modules/.bin/configurable-http-proxy
.PHONY: lab test install lock outputs exercises bench conformance newest-client clean hub bench-room proxy

# Everything a learner, a test run or CI installs comes from the lock (exact versions, hashes);
# pyproject.toml keeps ranges for people who embed the package.
$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK) || { \
	  echo "make install: pip could not install $(LOCK) (no network and no cached wheels?)." >&2; \
	  echo "Connect to PyPI once (or a mirror: PIP_INDEX_URL=...), then run make install again." >&2; \
	  exit 1; }
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

## make lock: re-resolve every dependency to the newest allowed by pyproject.toml (a deliberate bump: run make test after)
# Needs only the venv's uv: after a dependency is added to pyproject.toml the install's pip check
# fails until the lock is made again, so a stale install must not stop `make lock`.
lock:
	test -x $(BIN)/uv || $(MAKE) install || test -x $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml tools/lock-tools.in --extra dev --universal \
	  --python-version 3.11 --generate-hashes --custom-compile-command "make lock" -o $(LOCK)

## make lab: install, start the sandbox, open JupyterLab on chapter 00 (terminal, AWS CLI and git see the sandbox)
# Its terminal runs bash with tools/lab_terminal.bashrc: the venv first on PATH, the sandbox's env.
# The sandbox outlives JupyterLab: stop it with .venv/bin/flovtrain sandbox stop.
lab: $(STAMP)
	$(BIN)/flovtrain sandbox start
	eval "$$($(BIN)/flovtrain sandbox env)" && PATH="$(abspath $(BIN)):$$PATH" \
	  FLOVTRAIN_VENV_BIN="$(abspath $(BIN))" \
	  $(BIN)/jupyter lab --ip=127.0.0.1 --ServerApp.root_dir=. \
	  --ServerApp.terminado_settings="shell_command=['/bin/bash','--init-file','$(abspath tools/lab_terminal.bashrc)','-i']" \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(CHAPTER)

## make test: install, then every test: unit tests, nbval (strict) over notebooks and solutions, browser test
test: $(STAMP) $(CHP)
	$(BIN)/python -m pytest tests $(NBVAL_DIRS) --nbval --nbval-sanitize-with=tests/nbval_sanitize.cfg

## make outputs: re-execute and store every notebook's outputs (after changing a chapter or the sandbox)
outputs: $(STAMP)
	tools/store_outputs.sh

exercises: $(STAMP)
	$(BIN)/flovtrain exercises build

bench: $(STAMP)
	$(BIN)/python -m flovtrain.bench

## make conformance: Trino's documented examples through the sandbox's Athena API, pass rate per area (~60 s)
conformance: $(STAMP)
	$(BIN)/python tools/conformance.py

## make newest-client: the newest boto3 + PyAthena from the index (not the lock) query the sandbox
newest-client: $(STAMP)
	PYTHON=$(PYTHON) tools/newest_client.sh

# The proxy JupyterHub routes through, pinned in deploy/jupyterhub/package-lock.json (npm ci)
$(CHP): deploy/jupyterhub/package-lock.json
	@command -v npm >/dev/null || { echo "make: JupyterHub's proxy comes from npm, which is not installed." >&2; \
	  echo "Install Node.js and npm (Debian: apt-get install nodejs npm), then run make again." >&2; exit 1; }
	cd deploy/jupyterhub && npm ci --no-audit --no-fund --loglevel=error
	touch $(CHP)

proxy: $(CHP)

## make hub: a class on this machine: JupyterHub on 127.0.0.1:8000, a JupyterLab + sandbox per attendee
# The workshop code: $$FLOVTRAIN_WORKSHOP_CODE, else one made for the room and printed at start;
# the room (homes, hub state) is $$FLOVTRAIN_ROOM (default ~/flovtrain-room). See the README.
hub: $(STAMP) $(CHP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

## make bench-room: load test: N simulated attendees run chapters 01-06 at once (N = 1 4 8 12)
bench-room: $(STAMP) $(CHP)
	$(BIN)/python tools/bench_room.py $(BENCH_ROOM_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
