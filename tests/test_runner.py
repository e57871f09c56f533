"""The headless runner on a tiny synthetic notebook (fast), plus its table logic."""

import json
import subprocess
import sys

import nbformat
import pytest

from dl_vision_labs import environment
from tools import runner


def _notebook(path, body, parameters="SMOKE = False\nTARGET = 0.5"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_runner_executes_with_parameters_and_collects_metrics(tmp_path, capsys):
    nb = _notebook(
        tmp_path / "99_tiny.ipynb",
        "from dl_vision_labs import report\n"
        "report.record('accuracy', 0.25 if SMOKE else 0.75, target=TARGET)",
    )
    out = tmp_path / "run"
    assert runner.main([str(nb), "--out", str(out)]) == 0
    metrics = json.loads((out / "99_tiny.metrics.json").read_text())["metrics"]
    assert metrics["accuracy"]["value"] == 0.75 and metrics["accuracy"]["reached"] is True
    assert (out / "99_tiny.ipynb").is_file() and (out / "summary.md").is_file()
    assert "| pass " in capsys.readouterr().out

    # A parameter override that makes the target unreachable fails the full run...
    assert runner.main([str(nb), "--out", str(out), "-p", "TARGET", "0.9"]) == 1
    assert "| FAIL " in capsys.readouterr().out
    # ...while smoke mode reports the value without judging it.
    assert runner.main([str(nb), "--out", str(out), "--smoke", "-p", "TARGET", "0.9"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "smoke" and summary["parameters"]["SMOKE"] is True
    assert summary["results"][0]["metrics"]["accuracy"]["value"] == 0.25


@pytest.mark.slow
def test_runner_reports_a_failing_cell(tmp_path, capsys):
    nb = _notebook(tmp_path / "98_broken.ipynb", "raise RuntimeError('boom')")
    assert runner.main([str(nb), "--out", str(tmp_path / "run")]) == 1
    out = capsys.readouterr().out
    assert "RuntimeError: boom" in out and "ERROR" in out


@pytest.mark.slow
def test_runner_requires_a_recorded_metric(tmp_path):
    nb = _notebook(tmp_path / "97_silent.ipynb", "x = 1")
    result = runner.run_notebook(nb, tmp_path, {"SMOKE": True})
    assert result.error and "recorded no metric" in result.error


@pytest.mark.slow
def test_a_relative_data_dir_means_relative_to_where_the_runner_starts(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "notebooks").mkdir()
    nb = _notebook(
        tmp_path / "notebooks" / "96_data.ipynb",
        "import os, pathlib\nfrom dl_vision_labs import report\n"
        f"report.record('found', float(pathlib.Path(os.environ[{environment.DATA_DIR!r}])"
        ".is_dir()))",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(environment.DATA_DIR, "data")  # the kernel itself runs in notebooks/
    result = runner.run_notebook(nb, tmp_path, {"SMOKE": True})
    assert result.error is None and result.metrics["found"]["value"] == 1.0


def test_find_notebooks_by_number_and_unknown():
    assert [p.name for p in runner.find_notebooks(["02"])] == ["02_softmax_regression_mnist.ipynb"]
    with pytest.raises(SystemExit, match="No notebook matches"):
        runner.find_notebooks(["77"])


def test_parse_value():
    assert runner.parse_value("3") == 3 and runner.parse_value("0.5") == 0.5
    assert runner.parse_value("True") is True and runner.parse_value("mnist") == "mnist"


def test_runner_refuses_a_parameter_the_notebook_does_not_declare(tmp_path):
    nb = _notebook(tmp_path / "95_typo.ipynb", "raise RuntimeError('must not run')")
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as caught:
        runner.main([str(nb), "--out", str(out), "-p", "TARGT", "0.9"])
    assert str(caught.value) == (
        "Unknown parameter TARGT for 95_typo.ipynb (did you mean "
        "TARGET?): its parameters are SMOKE, TARGET."
    )
    assert not out.exists()  # refused before anything ran
    # A declared name passes the check (SMOKE, which the runner itself passes, too).
    assert runner.unknown_parameters([nb], {"TARGET": 1, "SMOKE": True}) is None
    # One line per unknown name and notebook; no close match, no suggestion.
    other = _notebook(tmp_path / "94_other.ipynb", "x = 1", parameters="SMOKE = False")
    assert runner.unknown_parameters([nb, other], {"TARGET": 1, "ZZZ": 2}).splitlines() == [
        "Unknown parameter ZZZ for 95_typo.ipynb: its parameters are SMOKE, TARGET.",
        "Unknown parameter TARGET for 94_other.ipynb: its parameters are SMOKE.",
        "Unknown parameter ZZZ for 94_other.ipynb: its parameters are SMOKE.",
    ]


@pytest.mark.slow
def test_the_refusal_is_one_message_and_a_non_zero_exit_without_traceback(tmp_path):
    nb = _notebook(tmp_path / "93_typo.ipynb", "raise RuntimeError('must not run')")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.runner",
            str(nb),
            "--out",
            str(tmp_path / "run"),
            "-p",
            "target",
            "0.9",
        ],
        cwd=runner.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "Unknown parameter target for 93_typo.ipynb (did you mean "
        "TARGET?): its parameters are SMOKE, TARGET."
    )
    assert "==>" not in done.stdout and not (tmp_path / "run").exists()


def test_notebook_parameters_includes_lines_papermill_cannot_read(tmp_path):
    nb = _notebook(
        tmp_path / "92_params.ipynb",
        "x = 1",
        parameters=(
            "SMOKE = False\nLIMIT = 3  # like limit=3\nA, B = 1, 2\nC: int = 4\n"
            "FILTERS = (\n    24,  # first\n    48,\n)"
        ),
    )
    assert runner.notebook_parameters(nb) == ["SMOKE", "C", "FILTERS", "LIMIT", "A", "B"]
    bare = tmp_path / "91_bare.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), bare)
    assert runner.notebook_parameters(bare) == []
    assert runner.unknown_parameters([bare], {"EPOCHS": 1}) == (
        "Unknown parameter EPOCHS for 91_bare.ipynb: its parameters are none "
        "(no cell tagged 'parameters')."
    )


@pytest.mark.slow
def test_a_bad_value_stops_the_notebook_with_the_check_sentence(tmp_path, capsys):
    nb = _notebook(
        tmp_path / "90_check.ipynb",
        "from dl_vision_labs import params\n"
        "params.validate(EPOCHS=EPOCHS, SMOKE=SMOKE)\n"
        "from dl_vision_labs import report\n"
        "report.record('accuracy', 0.9)",
        parameters="EPOCHS = 3\nSMOKE = False",
    )
    out = tmp_path / "run"
    assert runner.main([str(nb), "--out", str(out), "-p", "EPOCHS", "0"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["results"][0]["error"] == (
        "ParameterError: EPOCHS must be a whole number of at least 1, got 0."
    )
    assert "EPOCHS must be a whole number of at least 1, got 0." in capsys.readouterr().out
    assert not (out / "90_check.metrics.json").exists()  # nothing after the check ran


@pytest.mark.slow
def test_the_runner_shows_progress_and_each_notebooks_metrics_as_it_goes(tmp_path, capsys):
    nb = _notebook(
        tmp_path / "94_chatty.ipynb",
        "from dl_vision_labs import report\n"
        "for epoch in range(3):\n    print(f'Epoch {epoch + 1}/3', flush=True)\n"
        "report.record('accuracy', 0.75, target=TARGET)",
    )
    assert runner.main([str(nb), "--out", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "Epoch 1/3" in out and "Epoch 3/3" in out  # the notebook's own lines, live
    assert out.index("Epoch 3/3") < out.index("done in") < out.index("| pass ")
    assert out.index("| pass ") < out.index("Summary (")  # its metrics before the summary
    assert "Executing" in captured.err  # papermill's progress bar: cells done, elapsed time
    assert runner.main([str(nb), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    quiet = capsys.readouterr()
    assert "Epoch 1/3" not in quiet.out and "Executing" not in quiet.err


@pytest.mark.slow
def test_a_relative_run_folder_is_the_one_the_notebook_writes_to(tmp_path, monkeypatch):
    # The kernel runs in the notebook's folder: a relative --out must not be read from there.
    (tmp_path / "lessons").mkdir()
    nb = _notebook(
        tmp_path / "lessons" / "93_relative.ipynb",
        "from dl_vision_labs import report\nreport.record('accuracy', 0.75, target=TARGET)",
    )
    monkeypatch.chdir(tmp_path)
    assert runner.main([str(nb), "--out", "run", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "run" / "93_relative.metrics.json").read_text())["metrics"]
    assert metrics["accuracy"]["value"] == 0.75


def _result(name, value, *, goal=">=", target=0.5, error=None):
    metric = {"value": value, "target": target, "goal": goal}
    metric["reached"] = value >= target if goal == ">=" else value <= target
    return runner.Result(name, 1.0, error, {"m": metric, "info": {"value": 3.0, "target": None}})


def test_seed_rows_judge_the_worst_seed_of_each_target():
    rows = runner.seed_rows(
        {1: [_result("a", 0.7)], 2: [_result("a", 0.4)], 3: [_result("a", 0.9)]}, smoke=False
    )
    assert len(rows) == 1  # the metric without a target is left out
    assert rows[0]["values"] == {1: 0.7, 2: 0.4, 3: 0.9}
    assert rows[0]["worst"] == 0.4 and rows[0]["result"] == "FAIL"

    lower = {s: [_result("b", v, goal="<=", target=0.1)] for s, v in ((1, 0.05), (2, 0.08))}
    (row,) = runner.seed_rows(lower, smoke=False)
    assert row["worst"] == 0.08 and row["result"] == "pass"  # for "<=", the largest is worst

    crashed = {1: [_result("a", 0.7)], 2: [_result("a", 0.7, error="boom")]}
    (row,) = runner.seed_rows(crashed, smoke=False)
    assert row["values"][2] is None and row["result"] == "ERROR"
    (row,) = runner.seed_rows({1: [_result("a", 0.1)]}, smoke=True)
    assert row["result"] == "smoke"

    table = runner.format_seed_table(rows, [1, 2, 3])
    assert "SEED 2" in table.splitlines()[0] and "0.4000" in table and "FAIL" in table


@pytest.mark.slow
def test_seeds_run_each_seed_in_its_own_folder_and_fail_on_the_worst(tmp_path, capsys):
    nb = _notebook(
        tmp_path / "89_seeds.ipynb",
        "from dl_vision_labs import report\nreport.record('accuracy', SEED / 10, target=TARGET)",
        parameters="SMOKE = False\nTARGET = 0.15\nSEED = 42",
    )
    out = tmp_path / "run"
    assert runner.main([str(nb), "--out", str(out), "--seeds", "2", "3", "--quiet"]) == 0
    for seed in (2, 3):
        metrics = json.loads((out / f"seed-{seed}" / "89_seeds.metrics.json").read_text())
        assert metrics["metrics"]["accuracy"]["value"] == seed / 10
    (row,) = json.loads((out / "seeds.json").read_text())["seeds"]
    assert row["values"] == {"2": 0.2, "3": 0.3} and row["worst"] == 0.2
    assert "| pass" in (out / "seeds.md").read_text()

    # SEED 1 misses the target: the whole run fails, and says which seed.
    assert runner.main([str(nb), "--out", str(out), "--seeds", "1", "3", "--quiet"]) == 1
    assert "| FAIL" in capsys.readouterr().out.split("Seeds 1, 3")[1]


def test_seeds_and_a_seed_parameter_are_refused_together(tmp_path, capsys):
    nb = _notebook(tmp_path / "88_seed.ipynb", "x = 1", parameters="SMOKE = False\nSEED = 0")
    with pytest.raises(SystemExit):
        runner.main([str(nb), "--seeds", "1", "2", "-p", "SEED", "3"])
    assert "not both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        runner.main([str(nb), "--seeds", "1", "1"])
    assert "names a seed twice" in capsys.readouterr().err
    bare = _notebook(tmp_path / "87_bare.ipynb", "x = 1")  # declares no SEED
    with pytest.raises(SystemExit, match="SEED"):
        runner.main([str(bare), "--seeds", "1", "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()


def test_tiny_values_keep_their_digits_in_the_tables():
    assert runner.number(4.3e-7) == "4.30e-07" and runner.number(0.0) == "0.0000"
    assert runner.number(0.8576) == "0.8576" and runner.number(499.695) == "499.6950"
