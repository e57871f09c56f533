# Two commands do all the set-up on a fresh machine (see README):
#   make run [NB="02 04"] [ARGS="--smoke"]   run notebooks headless, print the summary
#   make test                                run the test suite (make test-fast: the quick tier;
#                                            make lint: ruff, as CI runs it)
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

.PHONY: run test test-fast test-colab lint sync pin exercises setup

setup: $(STAMP)

$(STAMP): requirements.txt requirements-tensorflow.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-tensorflow.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m tools run $(NB) $(ARGS)

# Every test in parallel, including the one on 8 simulated JAX devices (tests/conftest.py).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS) -m "not colab"

# The edit-test loop: every test that starts no kernel and no subprocess (under a minute;
# tests/conftest.py fails a test here that starts one without the marker `slow`).
test-fast: $(STAMP)
	LABS_FAST_TIER=1 $(PY) -m pytest $(PYTEST_ARGS) -m "not colab and not notebook and not slow"

# Lint and format check (ruff, settings in pyproject.toml): the package, tools, tests and
# notebooks. `$(VENV)/bin/ruff format .` and `ruff check --fix .` repair most findings.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The notebooks on Colab's own package sets (colab/constraints-*.txt): a Python 3.13
# environment per set, cached in ~/.cache/dl-vision-labs/colab-envs (tests/test_colab.py).
test-colab: $(STAMP)
	$(PY) -m tools colab build
	$(PY) -m pytest $(PYTEST_ARGS) -m colab

# Pin the Setup cells to the last commit that changed the package (tools/pin.py), regenerate
# badges and Setup cells, strip outputs (after editing a notebook), then the exercise
# notebooks (exercises/, from the lessons' ### BEGIN/END SOLUTION markers).
sync: $(STAMP)
	$(PY) -m tools sync

# Only the pin: [tool.labs] ref in pyproject.toml (commit the package first).
pin: $(STAMP)
	$(PY) -m tools pin write

# The student version of each lesson with exercises (### BEGIN/END SOLUTION) in exercises/.
exercises: $(STAMP)
	$(PY) -m tools exercises sync
