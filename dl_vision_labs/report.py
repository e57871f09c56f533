"""Record a notebook's headline metrics so that the headless runner can check them.

    dl_vision_labs.report.record("test_accuracy", acc, target=0.92)

prints the value beside its target and, when the runner set ``LABS_METRICS_FILE``,
adds it to that JSON file (written atomically: temporary name, then rename).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from dl_vision_labs import environment
from dl_vision_labs.files import atomic_write

METRICS_FILE_VAR = environment.METRICS_FILE


def record(
    name: str, value: float, *, target: float | None = None, higher_is_better: bool = True
) -> dict:
    """Record metric `name`; return the entry (value, target, goal, reached)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"metric {name!r} is {value}: training diverged or nothing was measured")
    goal = ">=" if higher_is_better else "<="
    reached = None
    if target is not None:
        reached = value >= target if higher_is_better else value <= target
    entry = {"value": value, "target": target, "goal": goal, "reached": reached}
    shown = f"{name} = {value:.4f}"
    if target is not None:
        shown += f"   (target {goal} {target}: {'reached' if reached else 'NOT reached'})"
    print(shown)

    path = os.environ.get(METRICS_FILE_VAR)
    if path:
        path = Path(path)
        data = json.loads(path.read_text()) if path.is_file() else {"metrics": {}}
        data["metrics"][name] = entry
        atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2)))
    return entry
