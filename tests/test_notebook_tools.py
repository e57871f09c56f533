"""tools/notebooks.py: stripping outputs (nbstripout) and atomic rewrites."""

import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import notebooks

CFG = {"repository": "owner/labs", "branch": "main"}


def _executed_notebook():
    code = new_code_cell(
        "print(1)",
        execution_count=3,
        outputs=[new_output("stream", name="stdout", text="1\n")],
        metadata={
            "tags": ["parameters"],
            "execution": {"iopub.status.busy": "x"},
            "papermill": {"duration": 1.0},
        },
    )
    badge = new_markdown_cell("old badge", metadata={"tags": ["colab-badge"]})
    nb = new_notebook(
        cells=[badge, new_markdown_cell("# Title"), code],
        metadata={
            "papermill": {"parameters": {}},
            "widgets": {"state": {}},
            "jupytext": {"formats": "ipynb"},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
        },
    )
    return nb


def test_clean_strips_outputs_counts_and_run_time_metadata_but_keeps_the_rest():
    nb = _executed_notebook()
    ids = [c.id for c in nb.cells]
    notebooks.clean(nb)
    code = nb.cells[2]
    assert code.outputs == [] and code.execution_count is None
    assert code.metadata == {"tags": ["parameters"]}
    assert set(nb.metadata) == {"kernelspec"}
    assert [c.id for c in nb.cells] == ids  # cell ids are kept (no churn in diffs)
    assert nb.cells[0].source == "old badge"


def test_sync_notebook_rewrites_atomically_and_is_idempotent(tmp_path):
    path = tmp_path / "01_demo.ipynb"
    path.write_text(nbformat.writes(_executed_notebook()))
    assert notebooks.sync_notebook(path, CFG) is True
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].source == (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/owner/labs/blob/main/notebooks/01_demo.ipynb) "
        "[View source on GitHub](https://github.com/owner/labs/blob/main/notebooks/01_demo.ipynb)"
    )
    assert not nb.cells[2].outputs and "papermill" not in nb.metadata
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left
    assert notebooks.sync_notebook(path, CFG) is False


def test_one_entry_point_checks_by_default_and_refuses_unknown_commands(capsys, monkeypatch):
    from tools import __main__ as cli
    from tools import pin

    monkeypatch.setattr(pin, "problems", lambda: ["the pin is stale"])
    assert cli.main(["hygiene"]) == 0  # the notebooks as committed follow the conventions
    assert "all notebooks follow the conventions" in capsys.readouterr().out
    assert cli.main([]) == 1  # the default is `check`: hygiene and the pin
    assert "the pin is stale" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="unknown command 'tets'"):
        cli.main(["tets"])


def _lesson_with_setup():
    setup = new_code_cell("old setup", metadata={"tags": ["setup"]})
    return new_notebook(cells=[new_markdown_cell("# Title"), new_markdown_cell("## Setup"), setup])


def test_sync_puts_one_note_linking_notebook_00_before_the_setup_cell(tmp_path):
    path = tmp_path / "03_demo.ipynb"
    path.write_text(nbformat.writes(_lesson_with_setup()))
    notebooks.sync_notebook(path, CFG)
    nb = nbformat.read(path, as_version=4)
    assert [c.metadata.get("tags", []) for c in nb.cells] == [[], [], ["setup-note"], ["setup"]]
    note = nb.cells[2]
    assert "(https://colab.research.google.com/github/owner/labs/blob/main/notebooks/00_" in (
        note.source
    )
    assert "How these notebooks work" in note.source
    assert notebooks.setup_note_problems(nb, path.name, CFG) == []
    assert notebooks.sync_notebook(path, CFG) is False  # idempotent, the note keeps its id


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda cells: cells.pop(2), "needs one 'setup-note' cell right before"),
        (lambda cells: cells.insert(0, cells.pop(2)), "needs one 'setup-note' cell right before"),
        (lambda cells: cells.insert(0, copy.deepcopy(cells[2])), "needs one 'setup-note'"),
        (lambda cells: setattr(cells[2], "source", "edited by hand"), "is out of date"),
    ],
)
def test_a_missing_moved_doubled_or_edited_setup_note_is_reported(tmp_path, edit, expected):
    path = tmp_path / "03_demo.ipynb"
    path.write_text(nbformat.writes(_lesson_with_setup()))
    notebooks.sync_notebook(path, CFG)
    nb = nbformat.read(path, as_version=4)
    edit(nb.cells)
    [problem] = notebooks.setup_note_problems(nb, path.name, CFG)
    assert expected in problem


def test_the_guide_has_the_section_and_no_note(tmp_path):
    path = tmp_path / "00_demo.ipynb"
    nb = _lesson_with_setup()
    path.write_text(nbformat.writes(nb))
    notebooks.sync_notebook(path, CFG)
    nb = nbformat.read(path, as_version=4)
    assert "setup-note" not in str([c.metadata for c in nb.cells])
    [problem] = notebooks.setup_note_problems(nb, path.name, CFG)
    assert "no section '## How these notebooks work'" in problem
    nb.cells.insert(1, new_markdown_cell("## How these notebooks work\n\nThe Setup cell ..."))
    assert notebooks.setup_note_problems(nb, path.name, CFG) == []
    nb.cells.insert(0, new_markdown_cell("note", metadata={"tags": ["setup-note"]}))
    assert notebooks.setup_note_problems(nb, path.name, CFG) == [
        "the guide has a 'setup-note' cell"
    ]
