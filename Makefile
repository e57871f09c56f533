# Two commands do all the set-up on a fresh machine (see README):
#   make run [NB="02 04"] [ARGS="--smoke"]   run notebooks headless, print the summary
#   make test                                run the test suite (make test-fast: the quick tier;
#                                            make lint: ruff, as CI runs it)
#   make site [RUN=runs/<time>-full]         the course website from a run folder (build/site/)
#   make test-site                           the website of `make test`'s smoke run, in Chromium
# Both create .venv (or reuse it) and install requirements when they changed.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NB     ?=
ARGS   ?=
RUN    ?=
# `make test` leaves the notebooks' smoke executions here, as a run folder (tests/conftest.py).
TESTS_RUN := runs/tests-smoke
PYTEST_ARGS ?= -n auto --durations=15

# Offline datasets: the shared folder next to the checkout when present.
export LABS_DATA_DIR ?= $(if $(wildcard ../shared/data/SHA256SUMS),$(abspath ../shared/data),)
export TF_CPP_MIN_LOG_LEVEL ?= 1

.PHONY: run test test-fast test-colab lint sync pin exercises setup site test-site browser

setup: $(STAMP)

$(STAMP): requirements.txt requirements-tensorflow.txt requirements-dev.txt requirements-site.txt \
          pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-tensorflow.txt -r requirements-dev.txt \
	    -r requirements-site.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m tools run $(NB) $(ARGS)

# Every test in parallel, including the one on 8 simulated JAX devices (tests/conftest.py).
# The notebooks' smoke executions stay in $(TESTS_RUN), for `make test-site`.
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS) -m "not colab and not site" --keep-run=$(TESTS_RUN)

# The edit-test loop: every test that starts no kernel and no subprocess (under a minute;
# tests/conftest.py fails a test here that starts one without the marker `slow`).
test-fast: $(STAMP)
	LABS_FAST_TIER=1 $(PY) -m pytest $(PYTEST_ARGS) -m "not colab and not notebook and not slow and not site"

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

# The course as a static website (tools/site.py, website/): from run folder RUN, else the
# newest under runs/ (a full run: `make run`; a smoke run: `make run ARGS=--smoke`, or what
# `make test` left). Writes build/site/, a folder that any static host serves.
site: $(STAMP)
	$(PY) -m tools site $(if $(RUN),--run $(RUN))

# Debian's Chromium, for the browser tests (as root, once per machine).
browser:
	test -x /usr/bin/chromium || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# After `make test`: the website of its smoke run, tested in Chromium (tests/test_site.py;
# screenshots of the home page and a lesson go to $(TESTS_RUN)).
test-site: $(STAMP) browser
	$(PY) -m tools site --run $(TESTS_RUN)
	$(PY) -m pytest -q -n 0 -m site tests/test_site.py
