# Two commands do all the set-up on a fresh machine (see README):
#   make run [NB="02 04"] [ARGS="--smoke"]   run notebooks headless, print the summary
#   make test                                run the test suite
# Both create .venv (or reuse it) and install requirements when they changed.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NB     ?=
ARGS   ?=
PYTEST_ARGS ?= -n auto --durations=15

# Offline datasets: the shared folder next to the checkout when present.
export LABS_DATA_DIR ?= $(if $(wildcard ../shared/data/SHA256SUMS),$(abspath ../shared/data),)
export TF_CPP_MIN_LOG_LEVEL ?= 1

.PHONY: run test sync setup

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m tools.runner $(NB) $(ARGS)

# Two parts: everything else in parallel, then the `serial` tests alone (8 simulated
# XLA devices deadlock when other work starves their thread pool; tests/conftest.py).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS) -m "not serial"
	$(PY) -m pytest $(PYTEST_ARGS) -m serial -n 0

# Regenerate badges and Setup cells, strip outputs (after editing a notebook).
sync: $(STAMP)
	$(PY) -m tools.notebooks sync
