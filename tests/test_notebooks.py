"""Every notebook follows the conventions and runs top to bottom in smoke mode."""

import nbformat
import pytest

from dl_vision_labs import environment
from tools import exercises, notebooks, runner, site

NOTEBOOKS = notebooks.notebook_paths()


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no NN_name.ipynb file"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_follows_conventions(path):
    assert notebooks.problems(path) == []


def test_colab_badges_file_is_current():
    expected = notebooks.badges_file_text()
    assert notebooks.BADGES_FILE.read_text() == expected, (
        "colab_badges.md is out of date: run `make sync`"
    )
    repository = notebooks.settings()["repository"]
    for path in NOTEBOOKS:
        assert (
            f"(https://colab.research.google.com/github/{repository}/blob/main/notebooks/"
            f"{path.name})"
        ) in expected
    exercise_notebooks = [
        p for p in NOTEBOOKS if exercises.has_holes(nbformat.read(p, as_version=4))
    ]
    assert expected.count("colab.research.google.com/github/") == (
        len(NOTEBOOKS) + len(exercise_notebooks)
    )  # a lesson, and its exercise version if any


def test_badges_and_setup_follow_the_configured_repository():
    cfg = {"repository": "someone/fork", "branch": "dev"}
    assert "github/someone/fork/blob/dev/notebooks/02_x.ipynb" in notebooks.badge_markdown(
        "02_x.ipynb", cfg
    )
    assert "git+https://github.com/someone/fork@dev" in notebooks.setup_source(cfg)


def test_problems_detects_outputs_and_missing_parameters(tmp_path):
    import nbformat

    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = "EPOCHS = 1"
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.execution_count = 3
    bad = tmp_path / NOTEBOOKS[0].name
    nbformat.write(nb, bad)
    found = " ".join(notebooks.problems(bad))
    assert "outputs or execution counts" in found
    assert "lacks BATCH_SIZE, SEED, SMOKE" in found
    assert "every cell needs an id" not in found


def test_cells_without_ids_are_found_and_sync_gives_them_ids(tmp_path):
    import json

    data = json.loads(NOTEBOOKS[0].read_text())
    data["nbformat_minor"] = 4
    for cell in data["cells"]:
        cell.pop("id", None)
    old = tmp_path / NOTEBOOKS[0].name
    old.write_text(json.dumps(data))
    assert any("every cell needs an id" in p for p in notebooks.problems(old))
    notebooks.sync_notebook(old)
    synced = json.loads(old.read_text())
    ids = [c["id"] for c in synced["cells"]]
    assert synced["nbformat_minor"] == 5 and all(ids) and len(set(ids)) == len(ids)
    assert not any("every cell needs an id" in p for p in notebooks.problems(old))


def _run_smoke(path, tmp_path, backend, keep_in=None):
    # Strict checks: an exercise check (dl_vision_labs.check) that fails on the lesson's own
    # solution stops the run; every exercise of the lesson must have been checked.
    result = runner.run_notebook(
        path, tmp_path, {"SMOKE": True}, backend=backend, env={environment.STRICT_CHECKS: "1"}
    )
    if keep_in:  # `make test` keeps this execution for the website (`make test-site`)
        site.keep(result, tmp_path, keep_in)
    assert result.error is None, result.error
    holes = [n for _, n in exercises.holes(nbformat.read(path, as_version=4))]
    assert [c["exercise"] for c in result.checks] == holes
    assert all(c["status"] == "passed" for c in result.checks), result.checks
    assert result.metrics, "the notebook recorded no metric"
    ran, printed = runner.executed_output(tmp_path / path.name)
    assert ran, "a code cell did not run"
    assert f"Keras backend: {backend}" in printed


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_smoke_mode(path, tmp_path, shared_data, monkeypatch, kept_run):
    monkeypatch.setenv(environment.DATA_DIR, str(shared_data))
    _run_smoke(path, tmp_path, "tensorflow", kept_run)


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_the_jax_backend(path, tmp_path, shared_data, monkeypatch):
    """The TPU path on Colab: the same notebook, unchanged, with Keras on JAX (here on CPU)."""
    monkeypatch.setenv(environment.DATA_DIR, str(shared_data))
    _run_smoke(path, tmp_path, "jax")
