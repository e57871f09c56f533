import json
import math

import pytest

from dl_vision_labs import environment, report


def test_record_writes_metrics_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "m.json"
    monkeypatch.setenv(environment.METRICS_FILE, str(path))
    report.record("test_accuracy", 0.93, target=0.92)
    report.record("fid", 40.0, target=30.0, higher_is_better=False)
    metrics = json.loads(path.read_text())["metrics"]
    assert metrics["test_accuracy"] == {
        "value": 0.93,
        "target": 0.92,
        "goal": ">=",
        "reached": True,
    }
    assert metrics["fid"]["reached"] is False and metrics["fid"]["goal"] == "<="
    assert "NOT reached" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary left


def test_record_without_runner_only_prints(capsys):
    entry = report.record("accuracy", 0.5)
    assert entry["reached"] is None
    assert "accuracy = 0.5000" in capsys.readouterr().out


def test_record_refuses_nan():
    with pytest.raises(ValueError, match="diverged"):
        report.record("loss", math.nan)
