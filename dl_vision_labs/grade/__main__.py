"""python -m dl_vision_labs.grade SUBMISSIONS/ [--lesson 02] [--out grades/]

Exit status: 0 when every submission could be graded, 1 when some could not (not a
notebook, another lesson, ...), 2 on a usage error."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import Limits, grade
from .lessons import lessons


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dl_vision_labs.grade",
        description="Grade a folder of submitted exercise notebooks: gradebook.csv, "
        "feedback/<student>.md, summary.md and pass_rate.png in --out.",
    )
    p.add_argument("submissions", type=Path, help="a folder of .ipynb files (any names)")
    p.add_argument("--lesson", choices=sorted(lessons()), help="grade as this lesson only")
    p.add_argument("--out", type=Path, default=Path("grades"), help="default: grades/")
    p.add_argument("--jobs", type=int, default=None, help="submissions at once (default: cores)")
    p.add_argument(
        "--time-limit",
        type=float,
        default=Limits.exercise_s,
        help="seconds per exercise (default %(default)s)",
    )
    p.add_argument(
        "--submission-limit",
        type=float,
        default=Limits.submission_s,
        help="seconds per submission (default %(default)s)",
    )
    p.add_argument(
        "--memory-limit",
        type=int,
        default=Limits.memory_mb,
        help="MB of address space per process (default %(default)s)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.submissions.is_dir():
        print(f"error: {args.submissions} is not a folder", file=sys.stderr)
        return 2
    limits = Limits(args.time_limit, args.submission_limit, args.memory_limit)
    outcome = grade(args.submissions, args.out, args.lesson, args.jobs, limits, progress=True)
    print("protection: " + "; ".join(outcome.protection))
    for problem in outcome.problems:
        print(f"not graded: {problem.path.name}: {problem.reason}")
    print(
        f"graded {len(outcome.graded)} of {len(outcome.graded) + len(outcome.problems)} "
        f"submissions; wrote {outcome.out}/gradebook.csv, feedback/, summary.md"
    )
    return 1 if outcome.problems else 0


if __name__ == "__main__":
    sys.exit(main())
