# Two commands on a fresh machine:  make run   |   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
# Most tests wait on real processes: two workers halve the wall time on two
# cores without crowding them (the timing-sensitive checks are in make slow).
TEST_JOBS ?= 2

.PHONY: run test slow bench screenshots demo doctor pythons clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed  ## open the TUI on its built-in default (a tour of the claims)
	$(BIN)/execscope

test: $(VENV)/.installed-test  ## the whole default suite, on $(TEST_JOBS) workers
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) $(PYTEST_ARGS)

slow: $(VENV)/.installed-test  ## timing-sensitive and long checks
	$(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

bench: $(VENV)/.installed-test  ## figures for the notes: ratios measured side by side
	$(BIN)/python -m benchmarks

screenshots: $(VENV)/.installed-test  ## regenerate screenshots/*.svg from real runs here (the 128-core one is scripted)
	$(BIN)/python tests/tui/make_screenshots.py screenshots

pythons: $(VENV)/.installed  ## CPython 3.14, 3.15 and a free-threaded 3.13t in ~/.cache/execscope/pythons (or $$EXECSCOPE_PYTHONS)
	$(BIN)/python -m execscope.pythons

demo: $(VENV)/.installed  ## record the demo here: screenshots/demo.cast (asciinema) and its animation screenshots/demo.svg
	env -u NO_COLOR $(BIN)/execscope demo --record screenshots/demo.cast --svg screenshots/demo.svg \
		--size 100x30 --claims C1,C6,C5,C7 --step-seconds 8

doctor: $(VENV)/.installed
	$(BIN)/execscope doctor

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
