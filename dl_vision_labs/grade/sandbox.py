"""Running a submission's plan (slicing.py) in a fresh process with limits and isolation.

The harness (harness.py) applies the protections itself before any student code: a network
namespace of its own where the platform allows it (root with CAP_SYS_ADMIN, as in a Docker
container started with it, or a plain Linux machine), the user ``nobody`` when started as
root, and resource limits (address space, file size, processes, CPU time) everywhere on
Linux. This process watches its JSON lines: an exercise that runs past its time limit is
killed and marked "timed out", a process that dies marks the exercise that was running, and
a fresh process then grades the exercises left.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import environment
from .harness import NOBODY

TIMED_OUT, ERROR = "timed out", "error"


@dataclasses.dataclass(frozen=True)
class Limits:
    exercise_s: float = 60.0  # one exercise: its cells and its check
    submission_s: float = 300.0  # a whole submission, every exercise and start-up included
    memory_mb: int = 4096  # address space (RLIMIT_AS) of the process
    file_mb: int = 64  # largest file it may write
    processes: int = 4096  # processes and threads of the user nobody (RLIMIT_NPROC)


def _environment(work: Path) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "TMPDIR": str(work),
        "KERAS_BACKEND": "tensorflow",
        "KERAS_HOME": str(work / ".keras"),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(work / ".matplotlib"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        environment.CACHE_DIR: str(work / "cache"),
        environment.WORK_DIR: str(work / "outputs"),
    }
    for name in (environment.DATA_DIR, "PYTHONPATH", "LANG", "LC_ALL"):
        if os.environ.get(name):
            value = os.environ[name]
            env[name] = os.path.abspath(value) if name == environment.DATA_DIR else value
    return env


def _read(path: Path, offset: int) -> tuple[list[dict], int]:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    out = []
    for line in data[:end].splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out, offset + end


def _last_line(log: Path) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


def _died(code: int, log: Path, limits: Limits) -> str:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else -code
        why = {"SIGKILL": f" (the memory limit, {limits.memory_mb} MB, or the CPU limit?)"}
        return f"the process was killed by {name}{why.get(name, '')}"
    last = _last_line(log)
    return f"the process exited with code {code} (os._exit?)" + (f": {last}" if last else "")


class Sandbox:
    """Runs plans; `protection` says, in words, what is in force (probed once)."""

    def __init__(self, limits: Limits | None = None, isolate: bool = True):
        self.limits = limits or Limits()
        self.isolate = {"net": isolate, "user": isolate and hasattr(os, "setuid")}
        self.protection = self._probe()

    def _plan_settings(self) -> dict:
        limits = dataclasses.asdict(self.limits)
        limits["cpu_s"] = int(self.limits.submission_s) + 10
        return {"isolate": self.isolate, "limits": limits}

    def _probe(self) -> list[str]:
        results, _ = self._launch({"probe": True, **self._plan_settings()}, wait=True)
        ready = next((e for e in results if e.get("event") == "ready"), None)
        return ready["protection"] if ready else ["process limits could not be set"]

    def _folders(self) -> tuple[Path, Path]:
        private = Path(tempfile.mkdtemp(prefix="grade-"))  # the grader's: plan, results, log
        work = Path(tempfile.mkdtemp(prefix="grade-work-"))  # the submission's cwd
        if self.isolate["user"] and os.geteuid() == 0:
            os.chown(work, NOBODY, NOBODY)
        return private, work

    def _launch(self, plan: dict, wait: bool = False):
        private, work = self._folders()
        try:
            return self._watch(plan, private, work, wait)
        finally:
            shutil.rmtree(private, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)

    def _start(self, plan: dict, private: Path, work: Path):
        (private / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        results, log = private / "results.jsonl", private / "log.txt"
        results.touch()
        command = [sys.executable, "-m", "dl_vision_labs.grade.harness"]
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [*command, str(private / "plan.json"), str(results), str(work)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=work,
                env=_environment(work),
                start_new_session=True,  # its own process group: killed as a whole
            )
        return proc, results, log

    def _watch(self, plan: dict, private: Path, work: Path, wait: bool):
        proc, results, log = self._start(plan, private, work)
        if wait:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                _kill(proc)
            return _read(results, 0)[0], None
        return proc, results, log

    def run(self, plan: dict) -> dict[str, tuple[str, str]]:
        """Exercise name -> (status, message) for every exercise of the plan."""
        names = [e["name"] for e in plan["exercises"]]
        verdicts: dict[str, tuple[str, str]] = {}
        deadline = time.monotonic() + self.limits.submission_s
        while len(verdicts) < len(names):
            private, work = self._folders()
            try:
                self._one_process(plan, names, verdicts, deadline, private, work)
            finally:
                shutil.rmtree(private, ignore_errors=True)
                shutil.rmtree(work, ignore_errors=True)
        return {n: verdicts[n] for n in names}

    def _one_process(self, plan, names, verdicts, deadline, private, work) -> None:
        todo = {**plan, **self._plan_settings(), "skip": sorted(verdicts)}
        proc, results, log = self._start(todo, private, work)
        offset, current, since = 0, None, time.monotonic()
        try:
            while True:
                events, offset = _read(results, offset)
                for e in events:
                    if e.get("event") == "start":
                        current, since = e["exercise"], time.monotonic()
                    elif e.get("event") == "verdict":
                        verdicts[e["exercise"]] = (e["status"], e["message"])
                        current = None
                code = proc.poll()
                if code is not None:
                    events, offset = _read(results, offset)
                    for e in events:
                        if e.get("event") == "verdict":
                            verdicts[e["exercise"]] = (e["status"], e["message"])
                            current = None
                    break
                now = time.monotonic()
                if now > deadline:
                    _kill(proc)
                    for n in names:
                        verdicts.setdefault(
                            n,
                            (
                                TIMED_OUT,
                                f"the submission ran past its time limit "
                                f"({self.limits.submission_s:g} s)",
                            ),
                        )
                    return
                limit = self.limits.exercise_s
                if current is None and now - since > limit + 60:  # start-up hung
                    _kill(proc)
                    code = proc.poll()
                    break
                if current is not None and now - since > limit:
                    _kill(proc)
                    verdicts[current] = (TIMED_OUT, f"it ran past its time limit ({limit:g} s)")
                    return
                time.sleep(0.05)
        finally:
            _kill(proc)
        if current is not None:
            verdicts[current] = (ERROR, _died(code, log, self.limits))
            return
        left = [n for n in names if n not in verdicts]
        if left:  # the process died before starting an exercise: nothing will work
            reason = f"the grader could not run it: {_died(code, log, self.limits)}"
            for n in left:
                verdicts[n] = (ERROR, reason)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    proc.wait()
