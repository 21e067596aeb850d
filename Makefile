# Quick start: `make demo` runs the main job, `make test` runs the whole suite.
# Both create .venv and install what they need on first use.
# Another interpreter gets its own venv:
#   make test PYTHON=/root/.pyenv/versions/3.9.18/bin/python VENV=.venv-3.9
# `make test-all` runs the suite on the default Python and then on every
# pyenv Python 3.9-3.13 the machine has (the same as CI, .ci/run).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed

.PHONY: demo test test-all fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The examples need the demo extra (scikit-learn's bundled digits, matplotlib
# for the loss curves, tqdm for the progress bar).
$(DEMO_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,demo]'
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m examples.seeds
	$(PY) -m examples.digits

test: $(STAMP)
	$(PY) -m pytest -q

test-all:
	./.ci/run

# 10,000 random programs against finite differences (about 15 min on 2 cores);
# writes tests/fuzz/REPORT.md.  `make test` runs 300 of them.
fuzz: $(STAMP)
	$(PY) -m tests.fuzz.run --n 10000 --seed 1 --report tests/fuzz/REPORT.md

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .venv-3.* build *.egg-info .pytest_cache
