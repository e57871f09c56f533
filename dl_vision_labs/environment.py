"""The environment variables through which you, the headless runner, the tests and CI talk
to the package and the notebooks: each name is defined here once, with who sets it and who
reads it. On Colab none of them is set and every default applies."""

DATA_DIR = "LABS_DATA_DIR"
"""Offline copies of the datasets and weights (with SHA256SUMS). Set by: you, the Makefile
(``../shared/data`` when present), .ci/run. Read by: `files.data_dir` (data, image_folders,
pretrained), tools/runner (made absolute for the kernel)."""

CACHE_DIR = "LABS_CACHE_DIR"
"""Where extracted archives and generated datasets are cached. Set by: you, the tests (one
folder per session). Read by: `files.cache_dir`."""

WORK_DIR = "LABS_WORK_DIR"
"""The notebooks' working folders (checkpoints, saved models). Set by: tools/runner (the run
folder's ``work/``). Read by: `storage.workdir` (else Google Drive on Colab, else ./outputs)."""

METRICS_FILE = "LABS_METRICS_FILE"
"""A JSON file of a notebook's headline metrics. Set by: tools/runner. Read by:
`report.record` (writes it), tools/runner (reads it back)."""

CHECKS_FILE = "LABS_CHECKS_FILE"
"""One JSON line per exercise verdict. Set by: tools/runner, tests/cases. Read by: `check`
(appends), tools/runner (reads back)."""

STRICT_CHECKS = "LABS_STRICT_CHECKS"
"""``1``: a check that does not pass raises instead of printing. Set by: the lessons' tests.
Read by: `check`."""

PACKAGE_URL = "LABS_PACKAGE_URL"
"""Where the Setup cell installs the package from in the Colab-set tests. Set by: you. Read
by: tests/test_colab.py (default: this checkout)."""

COLAB_ENVS = "LABS_COLAB_ENVS"
"""The cache of Colab-like environments. Set by: you. Read by: tools/colab.py."""

COLAB_PYTHON = "LABS_COLAB_PYTHON"
"""The Python 3.13 interpreter for those environments. Set by: you. Read by: tools/colab.py."""

FAST_TIER = "LABS_FAST_TIER"
"""``1`` in `make test-fast`: a test that starts a subprocess fails. Set by: the Makefile.
Read by: tests/conftest.py."""
