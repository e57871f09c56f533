"""The maintainers' tools, one entry point. Checking is the default; writing is asked for.

    python -m tools [check]          # list what is stale: notebooks (badges, Setup cells,
                                     # outputs, metadata), colab_badges.md, exercises/, the pin
    python -m tools hygiene          # the same without the pin (the pre-commit hook)
    python -m tools sync             # write it all: the pin, then the notebooks, the badges
                                     # file, exercises/ and the grader's lessons.json
    python -m tools exercises [sync] # exercises/ only (checked unless `sync`)
    python -m tools pin [write]      # the commit the Setup cells install (tools/pin.py)
    python -m tools grading [sync|benchmark]  # the grader's lessons.json; grading 30 students
    python -m tools run [ARGS]       # the headless runner (tools/runner.py; --help)
    python -m tools colab [ARGS]     # Colab's package sets (tools/colab.py; --help)
    python -m tools site [--run DIR] # the course website from a run folder (tools/site.py)

Modules: `common` (the shared ground, a leaf), `notebooks` (lesson hygiene), `exercises`
(the student versions), `pin`, `grading` (the grader's lessons.json, its benchmark),
`runner`, `colab`, `site`.
"""

from __future__ import annotations

import sys

COMMANDS = ("check", "hygiene", "sync", "exercises", "pin", "grading", "run", "colab", "site")


def _report(found: list[str], fine: str) -> int:
    print("\n".join(found) or fine)
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv else "check"
    if command not in COMMANDS:
        raise SystemExit(
            f"unknown command {command!r}: use one of {', '.join(COMMANDS)} "
            f"(python -m tools --help)"
        )
    if command == "run":
        from tools import runner

        return runner.main(argv)
    if command == "colab":
        from tools import colab

        return colab.main(argv)
    if command == "site":
        from tools import site

        return site.main(argv)
    if command == "pin":
        from tools import pin

        return pin.main(argv)
    if command == "grading":
        from tools import grading

        return grading.main(argv)
    if command == "exercises":
        from tools import exercises

        if argv[:1] == ["sync"]:
            for path in exercises.generate():
                print(f"updated {path.relative_to(exercises.ROOT)}")
            return 0
        found = exercises.stale() + [
            m for p in exercises.exercise_paths() for m in exercises.problems(p)
        ]
        return _report(found, "exercises/ is what the generator makes from the lessons")
    from tools import grading, notebooks, pin

    if command == "sync":
        pin.main(["write"])
        for name in notebooks.sync():
            print(f"updated {name}")
        for path in grading.write():
            print(f"updated {path.relative_to(grading.ROOT)}")
        return 0
    found = notebooks.check() + grading.stale() + (pin.problems() if command == "check" else [])
    return _report(found, "all notebooks follow the conventions")


if __name__ == "__main__":
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__)
        sys.exit(0)
    sys.exit(main())
