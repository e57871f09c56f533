"""What the grader writes: gradebook.csv, feedback/<student>.md, summary.md, pass_rate.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .lessons import lessons

STATUSES = ("passed", "wrong", "not filled in", "timed out", "error")
MARK = {"passed": "✓"}


def _columns(results: list) -> list[str]:
    used = sorted({r.lesson for r in results if r.lesson})
    return [name for number in used for name in lessons()[number].names]


def gradebook_text(results: list, problems: list) -> str:
    names = _columns(results)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "file", "lesson", *names, "total", "problem"])
    rows = [(r.path.name, r) for r in results] + [(p.path.name, p) for p in problems]
    for _, item in sorted(rows, key=lambda x: x[0]):
        if hasattr(item, "verdicts"):
            own = lessons()[item.lesson].names
            cells = [item.verdicts[n][0] if n in item.verdicts else "" for n in names]
            total = f"{item.passed}/{len(own)}"
            writer.writerow([item.student, item.path.name, item.lesson, *cells, total, ""])
        else:
            writer.writerow(["", item.path.name, "", *[""] * len(names), "", item.reason])
    return out.getvalue()


def feedback_text(result) -> str:
    lesson = lessons()[result.lesson]
    lines = [
        f"# {result.student}: lesson {lesson.number}",
        "",
        f"Submission `{result.path.name}` ({lesson.file}): "
        f"**{result.passed} of {len(lesson.exercises)} exercises passed.**",
        "",
    ]
    for exercise in lesson.exercises:
        status, message = result.verdicts[exercise.name]
        mark = MARK.get(status, "✗")
        line = message if message.startswith(status) else f"{status}: {message}"
        lines.append(f"- {mark} **{exercise.name}**: {line}")
        if status != "passed" and exercise.hint:
            lines.append(f"  - Hint: {exercise.hint}")
    return "\n".join(lines) + "\n"


def summary_text(results: list, problems: list, protection: list[str], chart: str) -> str:
    lines = ["# Grades", ""]
    lines.append(
        f"{len(results) + len(problems)} submissions: {len(results)} graded, "
        f"{len(problems)} could not be graded."
    )
    lines += ["", "## Protection in force while grading", ""]
    lines += [f"- {p}" for p in protection]
    for number in sorted({r.lesson for r in results}):
        lesson = lessons()[number]
        mine = [r for r in results if r.lesson == number]
        lines += ["", f"## Lesson {number} ({lesson.file}), {len(mine)} submissions", ""]
        lines += ["| exercise | " + " | ".join(STATUSES) + " | pass rate |"]
        lines += ["|---|" + "---|" * (len(STATUSES) + 1)]
        for name in lesson.names:
            counts = [sum(r.verdicts[name][0] == s for r in mine) for s in STATUSES]
            rate = counts[0] / len(mine) if mine else 0.0
            lines.append(f"| {name} | " + " | ".join(map(str, counts)) + f" | {rate:.0%} |")
        empty = [
            r.student for r in mine if all(v[0] == "not filled in" for v in r.verdicts.values())
        ]
        if empty:
            lines += ["", "Nothing filled in: " + ", ".join(empty) + "."]
    if results:
        lines += ["", f"![pass rate per exercise]({chart})"]
    if problems:
        lines += ["", "## Not graded", ""]
        lines += [
            f"- `{p.path.name}`: {p.reason}" for p in sorted(problems, key=lambda p: p.path.name)
        ]
    return "\n".join(lines) + "\n"


def chart(results: list, path: Path) -> None:
    """A bar chart of the pass rate per exercise (all lessons graded, in order)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = _columns(results)
    rates = []
    for name in names:
        mine = [r for r in results if name in r.verdicts]
        rates.append(sum(r.verdicts[name][0] == "passed" for r in mine) / max(len(mine), 1))
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(names) + 1.5), 3.2))
    ax.bar(names, [100 * r for r in rates], color="tab:green")
    ax.set_ylim(0, 100)
    ax.set_ylabel("passed (%)")
    ax.set_title("Pass rate per exercise")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
