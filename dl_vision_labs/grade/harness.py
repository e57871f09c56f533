"""The program that grades one submission, run by the grader in a fresh process
(``python -m dl_vision_labs.grade.harness PLAN RESULTS WORK``; see sandbox.py).

Before any student code: a network namespace of its own (when allowed), resource limits,
the working folder, and the user ``nobody`` (when started as root). Then, per exercise, the
cells the slicer chose (slicing.py) run in one namespace, in notebook order, and the
lesson's check call runs against freshly imported check modules (what notebook cells did to
``check`` is gone). Each step is one JSON line in RESULTS: ``ready`` (with the protections in
force), ``start`` and ``verdict`` per exercise; the grader watches them to charge a hang or
a crash to the exercise that was running.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import stat
import sys

CLONE_NEWNET = 0x40000000
NOBODY = 65534
_CHECKS = "dl_vision_labs.check"


CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
_WRITABLE_MOUNTS = ("/proc", "/dev", "/dev/pts")  # kernel interfaces left as they are


def _mount(libc, source: str | None, target: str, flags: int) -> bool:
    return libc.mount(source and source.encode(), target.encode(), None, flags, None) == 0


def _read_only_except(libc, work: str) -> bool:
    """Every mount read-only in this process's own mount namespace, but the folder `work`."""
    if not _mount(libc, None, "/", MS_REC | MS_PRIVATE) or not _mount(libc, work, work, MS_BIND):
        return False
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        points = [line.split()[4] for line in f]
    ok = True
    for point in points:
        if point == work or point in _WRITABLE_MOUNTS or point.startswith(("/sys", "/proc/")):
            continue
        ok &= _mount(libc, None, point, MS_BIND | MS_REMOUNT | MS_RDONLY)
    return ok


def _readable_by_others(path: str) -> bool:
    """Whether another user can read `path` (every folder above it can be entered)."""
    path = os.path.abspath(path)
    while True:
        mode = os.stat(path).st_mode
        if not mode & stat.S_IXOTH or not mode & stat.S_IROTH:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def _python_readable_by_nobody() -> bool:
    import numpy

    folders = [os.path.dirname(os.__file__), os.path.dirname(os.path.dirname(numpy.__file__))]
    folders.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return all(_readable_by_others(f) for f in folders)


def _isolate(plan: dict, work: str) -> list[str]:
    """Apply the protections the plan asks for; return those in force, in words."""
    done = []
    want = plan.get("isolate", {})
    root = os.geteuid() == 0
    if want.get("net") and root:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNET) == 0:
            done.append("no network (a network namespace of its own)")
        if libc.unshare(CLONE_NEWNS) == 0 and _read_only_except(libc, work):
            done.append("a read-only file system except its own folder (a mount namespace)")
    limits = plan.get("limits", {})
    mb = 1024 * 1024
    for name, value in (
        ("RLIMIT_AS", limits.get("memory_mb", 0) * mb),
        ("RLIMIT_FSIZE", limits.get("file_mb", 0) * mb),
        ("RLIMIT_NPROC", limits.get("processes", 0)),
        ("RLIMIT_CPU", limits.get("cpu_s", 0)),
        ("RLIMIT_CORE", 0),
    ):
        if value or name == "RLIMIT_CORE":
            try:
                resource.setrlimit(getattr(resource, name), (value, value))
            except (ValueError, OSError):
                continue
    done.append(
        f"process limits (memory {limits.get('memory_mb')} MB, files "
        f"{limits.get('file_mb')} MB, {limits.get('processes')} processes), time limits, "
        "no standard input, a fresh process and folder per submission"
    )
    if want.get("user") and root:
        if not _python_readable_by_nobody():
            done.append("runs as root (this Python is not readable by other users)")
        else:
            try:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                done.append("an unprivileged user (nobody)")
            except OSError:
                done.append("runs as root (could not switch to the user nobody)")
    return done


def _error(err: BaseException) -> str:
    if isinstance(err, SystemExit):
        return f"called sys.exit({err.code!r})"
    if isinstance(err, MemoryError):
        return "ran out of memory (the grader's memory limit)"
    if isinstance(err, KeyboardInterrupt):
        return "was interrupted"
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:200]}" if text else type(err).__name__


def _fresh_checks():
    """The check package imported again: monkeypatching by notebook cells is gone."""
    for name in [m for m in sys.modules if m == _CHECKS or m.startswith(_CHECKS + ".")]:
        del sys.modules[name]
    import importlib

    return importlib.import_module(_CHECKS)


def _snapshot(modules) -> dict:
    return {m.__name__: {k: id(v) for k, v in vars(m).items()} for m in modules}


def _check(exercise: dict, namespace: dict) -> tuple[str, str]:
    import builtins

    import numpy

    check = _fresh_checks()
    core = sys.modules[_CHECKS + ".core"]
    captured = []
    core._record = captured.append  # the verdict comes back here, not through a file
    os.environ.pop(core.STRICT_VAR, None)
    watched = [m for n, m in sys.modules.items() if n.startswith(_CHECKS)] + [numpy, builtins]
    before = _snapshot(watched)
    try:
        eval(
            compile(exercise["call"], "<the lesson's check>", "eval"), {**namespace, "check": check}
        )
    except BaseException as err:  # sys.exit and the like, from the student's function
        return "error", f"the function {_error(err)}"
    after = _snapshot(watched)
    if any(after[m].get(k) != v for m, old in before.items() for k, v in old.items()):
        return "error", "the code changed the checks or NumPy while being checked"
    if not captured:
        return "error", "the check gave no verdict"
    entry = captured[-1]
    if "raised MemoryError" in entry["message"]:
        return "error", "the function ran out of memory (the grader's memory limit)"
    return entry["status"], entry["message"]


def _no_display(*objects, **options) -> None:
    """IPython's display(), which a cell may call: nothing is shown while grading."""


def main(argv: list[str]) -> int:
    plan_path, results_path, work = argv[:3]
    with open(plan_path, encoding="utf-8") as f:
        plan = json.load(f)
    results = open(results_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def emit(**entry):
        results.write(json.dumps(entry, ensure_ascii=False) + "\n")
        results.flush()

    os.chdir(work)
    protection = _isolate(plan, os.path.realpath(work))
    del sys.argv[1:]
    emit(event="ready", protection=protection)
    if plan.get("probe"):
        return 0
    cells = {int(k): v for k, v in plan["cells"].items()}
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "display": _no_display}
    failed: dict[int, str] = {}
    ran: set[int] = set()
    skip = set(plan.get("skip", []))
    for exercise in plan["exercises"]:
        name = exercise["name"]
        if name in skip:
            continue
        emit(event="start", exercise=name)
        if exercise["cell"] is None:
            emit(
                event="verdict",
                exercise=name,
                status="error",
                message="no cell of the notebook defines it (deleted or renamed?)",
            )
            continue
        for index in exercise["cells"]:
            if index in ran:
                continue
            ran.add(index)
            try:
                code = compile(cells[index], f"<cell {index + 1}>", "exec")
            except SyntaxError as err:
                failed[index] = f"has a syntax error at line {err.lineno}: {err.msg}"
                continue
            try:
                exec(code, namespace)
            except BaseException as err:  # noqa: BLE001 (a cell's failure is reported)
                if isinstance(err, NotImplementedError) and f"'{name}'" in str(err):
                    failed[index] = "not filled in"
                else:
                    failed[index] = _error(err)
        own = exercise["cell"]
        others = [i for i in exercise["cells"] if i in failed and i != own]
        mine = failed.get(own, "")
        if mine == "not filled in":
            status, message = "not filled in", "not filled in yet"
        elif mine.startswith("has a"):
            status, message = "error", f"its cell (cell {own + 1}) {mine}"
        elif others:
            i = others[0]
            what = failed[i] if failed[i].startswith("has a") else f"raised {failed[i]}"
            status, message = "error", f"cell {i + 1}, which it needs, {what}"
        elif mine:
            status, message = "error", f"its cell (cell {own + 1}) raised {mine}"
        else:
            status, message = _check(exercise, namespace)
        emit(event="verdict", exercise=name, status=status, message=message)
    results.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no interpreter teardown (TensorFlow's can hang)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
