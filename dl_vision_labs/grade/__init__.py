"""Grade a class: a folder of submitted exercise notebooks -> a gradebook and feedback.

    python -m dl_vision_labs.grade SUBMISSIONS/ [--lesson 02] [--out grades/]

Each submission's exercises are graded by the course's own checks, run by the grader on
the student's functions (never from printed output or the student's check cells), in a
fresh process with time and memory limits and the isolation the platform allows.

Modules: `lessons` (lessons.json: each lesson's exercises, check calls and hints, generated
by tools/grading.py), `submissions` (reading, the student, the lesson), `slicing` (the
cells each exercise needs), `sandbox` and `harness` (running them with limits and
isolation), `report` (gradebook, feedback, summary, chart), `__main__` (the command).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
from pathlib import Path

from . import report, slicing, submissions
from .lessons import lessons
from .sandbox import Limits, Sandbox

__all__ = ["Limits", "Outcome", "grade"]


@dataclasses.dataclass
class Graded:
    path: Path
    student: str
    lesson: str
    verdicts: dict[str, tuple[str, str]]  # exercise -> (status, message)

    @property
    def passed(self) -> int:
        return sum(status == "passed" for status, _ in self.verdicts.values())


@dataclasses.dataclass
class Problem:
    path: Path
    reason: str


@dataclasses.dataclass
class Outcome:
    graded: list[Graded]
    problems: list[Problem]
    protection: list[str]
    out: Path


def notebooks_in(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.rglob("*.ipynb") if p.is_file() and ".ipynb_checkpoints" not in p.parts),
        key=lambda p: str(p.relative_to(folder)),
    )


def grade(
    folder,
    out="grades",
    lesson: str | None = None,
    jobs: int | None = None,
    limits: Limits | None = None,
    isolate: bool = True,
    progress: bool = False,
) -> Outcome:
    """Grade every .ipynb of `folder` into `out`; see the module's docstring."""
    folder, out = Path(folder), Path(out)
    if lesson is not None and lesson not in lessons():
        raise ValueError(f"lesson {lesson!r} has no exercises; lessons: {', '.join(lessons())}")
    sandbox = Sandbox(limits, isolate)
    read, problems = [], []
    for path in notebooks_in(folder):
        try:
            read.append(submissions.read(path, lesson))
        except submissions.Unreadable as err:
            problems.append(Problem(path, str(err)))
        except OSError as err:
            problems.append(Problem(path, f"cannot be read: {err.strerror}"))
    jobs = jobs or len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else jobs
    graded = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        futures = {pool.submit(sandbox.run, slicing.plan(sub)): sub for sub in read}
        done = concurrent.futures.as_completed(futures)
        if progress:
            from tqdm.auto import tqdm

            done = tqdm(done, total=len(futures), desc="grading", unit="notebook")
        for future in done:
            sub = futures[future]
            graded.append(Graded(sub.path, sub.student, sub.lesson.number, future.result()))
    graded.sort(key=lambda g: g.path.name)
    write(graded, problems, sandbox.protection, out)
    return Outcome(graded, sorted(problems, key=lambda p: p.path.name), sandbox.protection, out)


def write(graded: list, problems: list, protection: list[str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    for old in feedback.glob("*.md"):
        old.unlink()
    names = submissions.file_names(graded)
    for result in graded:
        text = report.feedback_text(result)
        (feedback / f"{names[result.path]}.md").write_text(text, encoding="utf-8")
    (out / "gradebook.csv").write_text(report.gradebook_text(graded, problems), encoding="utf-8")
    chart = "pass_rate.png"
    if graded:
        report.chart(graded, out / chart)
    summary = report.summary_text(graded, problems, protection, chart)
    (out / "summary.md").write_text(summary, encoding="utf-8")
