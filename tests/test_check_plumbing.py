"""How a check reports: the verdict line, strict mode, the student's exception in one line,
hints and the stop sentence, and the verdicts recorded through the runner."""

import nbformat
import pytest

from dl_vision_labs import check, environment
from tools import runner


def _unfilled(name):
    def fn(*args, **kwargs):
        raise NotImplementedError(f"exercise '{name}' is not filled in yet")

    return fn


def test_strict_mode_raises_on_a_check_that_does_not_pass(monkeypatch, capsys):
    monkeypatch.setenv(check.STRICT_VAR, "1")
    monkeypatch.delenv(check.CHECKS_FILE_VAR, raising=False)
    check.dense_params(lambda n_in, n_out: (n_in + 1) * n_out)
    with pytest.raises(check.CheckFailed, match="dense_params: wrong"):
        check.dense_params(lambda n_in, n_out: n_in * n_out)
    with pytest.raises(check.CheckFailed, match="not filled in yet"):
        check.dense_params(_unfilled("dense_params"))


def test_a_check_reports_an_exception_of_the_students_code_in_one_line(capsys):
    check.conv_params(lambda F, c_in, c_out: F["x"])
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "your function raised TypeError" in out


def test_hint_and_the_stop_sentence(capsys):
    check.hint("vote")
    assert capsys.readouterr().out.startswith("Hint for vote: ")
    with pytest.raises(KeyError, match="no exercise named 'nope'"):
        check.hint("nope")
    error = NotImplementedError("in user code: ... exercise 'train_step' is not filled in yet")
    assert check.core._stop_handler(None, NotImplementedError, error, None) == [
        check.stop_message("train_step")
    ]
    assert "exercise 'train_step'" in check.stop_message("train_step")


# --- the plumbing through the runner, on a tiny notebook (one kernel per run) -----------


def _tiny(path, body: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("SMOKE = False")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "from dl_vision_labs import check, report\ncheck.install_stop_handler()"
        ),
        nbformat.v4.new_code_cell(body),
        nbformat.v4.new_code_cell("check.dense_params(dense_params)"),
        nbformat.v4.new_code_cell("total = dense_params(784, 10)"),
        nbformat.v4.new_code_cell("report.record('cells_after_a_stop_ran', 1.0)"),
    ]
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_runner_records_checks_stops_cleanly_and_is_strict_on_request(tmp_path):
    empty = _tiny(
        tmp_path / "90_empty.ipynb",
        "def dense_params(n_in, n_out):\n"
        "    raise NotImplementedError(\"exercise 'dense_params' is not filled in yet\")",
    )
    result = runner.run_notebook(empty, tmp_path, {}, allow_errors=True)
    assert [(c["exercise"], c["status"]) for c in result.checks] == [
        ("dense_params", check.NOT_FILLED)
    ]
    assert "NotImplementedError" in result.error  # the first error, reported
    assert result.metrics  # allow_errors: the cells after the stop ran
    executed = nbformat.read(tmp_path / empty.name, as_version=4)
    errors = [
        o
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert [e.traceback for e in errors] == [[check.stop_message("dense_params")]]

    wrong = _tiny(
        tmp_path / "91_wrong.ipynb", "def dense_params(n_in, n_out):\n    return n_in * n_out"
    )
    result = runner.run_notebook(wrong, tmp_path, {}, env={environment.STRICT_CHECKS: "1"})
    assert result.error.startswith("CheckFailed: dense_params: wrong")
    assert [c["status"] for c in result.checks] == [check.WRONG] and not result.metrics


def test_one_small_check_module_per_lesson():
    """check/ is a core plus one module per lesson, each short enough to read at once."""
    from pathlib import Path

    folder = Path(check.__file__).parent
    lessons = sorted(p.stem for p in folder.glob("lesson*.py"))
    assert lessons == [f"lesson{n:02d}" for n in range(10)]
    long = {p.name: n for p in folder.glob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"check modules over 400 lines: {long}"
