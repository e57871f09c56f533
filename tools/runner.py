"""Run notebooks headless with parameters and summarise their metrics.

    python -m tools run                   # every notebook, full mode
    python -m tools run 02 04 --smoke   # a subset, smoke mode (tiny data, 1 epoch)
    python -m tools run 02 -p EPOCHS 3  # override any `parameters` cell value
    python -m tools run 03 --seeds 1 2 3  # a target is a promise: check it on several seeds

A name that a chosen notebook's `parameters` cell does not declare (``-p EPOCH 3``)
is refused before anything runs, with the names it does declare.

Each run writes into a run folder (``runs/<time>-<mode>/`` by default):
the executed notebooks, one ``<notebook>.metrics.json`` each (filled by
`dl_vision_labs.report.record` inside the notebook), and ``summary.json`` / ``summary.md``.
It prints a table (metric, value, target, pass/fail, wall time) and exits
non-zero when a notebook fails or, in full mode, misses a target.

With ``--seeds``, each seed runs in its own run folder (``<out>/seed-<N>/``) and
``seeds.md`` / ``seeds.json`` in ``<out>`` give every target's value per seed and
the worst of them; the run fails when any seed misses a target.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import json
import logging
import os
import sys
import time
from pathlib import Path

from dl_vision_labs import environment, files

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


@dataclasses.dataclass
class Result:
    notebook: str
    seconds: float
    error: str | None
    metrics: dict
    checks: list = dataclasses.field(default_factory=list)  # exercise checks (check.py), in order

    def passed(self, smoke: bool) -> bool:
        if self.error:
            return False
        return smoke or all(m.get("reached") is not False for m in self.metrics.values())


def find_notebooks(selection: list[str] | None = None) -> list[Path]:
    """Notebooks named by number prefix ("02"), stem or path; all of them when empty."""
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not selection:
        return every
    chosen = []
    for item in selection:
        path = Path(item)
        if path.suffix == ".ipynb" and path.is_file():
            chosen.append(path.resolve())
            continue
        matches = [nb for nb in every if nb.stem == item or nb.name.startswith(f"{item}_")]
        if not matches:
            names = ", ".join(nb.name for nb in every)
            raise SystemExit(f"No notebook matches {item!r}. Available: {names}")
        chosen += matches
    return chosen


def notebook_parameters(path: Path) -> list[str]:
    """The names a notebook declares in its cell tagged `parameters`, in order.

    papermill's own list (`papermill.inspect_notebook`), plus any assignment it
    cannot read (it skips a line with two "=", e.g. ``X = 1  # like y=2``).
    """
    import nbformat
    import papermill

    papermill_log = logging.getLogger("papermill")
    level = papermill_log.level
    papermill_log.setLevel(logging.ERROR)  # no "Unable to parse line" warning: see below
    try:
        names = list(papermill.inspect_notebook(str(path)))
    finally:
        papermill_log.setLevel(level)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                break
            for node in tree.body:
                targets = (
                    node.targets
                    if isinstance(node, ast.Assign)
                    else [node.target]
                    if isinstance(node, ast.AnnAssign)
                    else []
                )
                names += [n for t in targets for n in _assigned_names(t) if n not in names]
            break  # papermill reads the first such cell only
    return names


def _assigned_names(target: ast.expr) -> list[str]:
    """``A`` of ``A = 1``, ``A`` and ``B`` of ``A, B = 1, 2``; nothing for ``a.b = 1``."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _assigned_names(elt)]
    return []


def unknown_parameters(notebooks: list[Path], names) -> str | None:
    """A message for each name some notebook does not declare, or None when all do.

    papermill would inject such a name anyway, as a variable that nothing reads,
    and the notebook would silently run with its default (``EPOCH`` for ``EPOCHS``).
    """
    problems = []
    for nb in notebooks:
        declared = notebook_parameters(nb)
        for name in names:
            if name in declared:
                continue
            close = difflib.get_close_matches(name, declared, n=1) or difflib.get_close_matches(
                name.upper(), declared, n=1
            )
            guess = f" (did you mean {close[0]}?)" if close else ""
            have = ", ".join(declared) if declared else "none (no cell tagged 'parameters')"
            problems.append(
                f"Unknown parameter {name} for {nb.name}{guess}: its parameters are {have}."
            )
    return "\n".join(problems) or None


def parse_value(text: str):
    """A parameter value from the command line: a Python literal, else the plain string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def run_notebook(
    path: Path,
    out_dir: Path,
    parameters: dict,
    *,
    timeout: int | None = None,
    kernel_name: str = "python3",
    backend: str | None = None,
    env: dict | None = None,
    allow_errors: bool = False,
    progress: bool = False,
) -> Result:
    """Execute one notebook with papermill; return its wall time, error, metrics and checks.

    `backend` ("tensorflow" or "jax") sets KERAS_BACKEND for the notebook's kernel; `env`
    adds variables (e.g. ``LABS_STRICT_CHECKS=1``: a failed exercise check stops the run).
    The exercise checks' results (`dl_vision_labs.check`) come back in `Result.checks`.
    With `allow_errors`, the cells after a failing one still run (the executed notebook
    keeps every error; `Result.error` names the first). With `progress`, papermill's
    progress bar (cells done, elapsed time) goes to stderr and what the notebook prints
    (its epoch lines) to stdout, as it runs.
    """
    import papermill

    metrics_file = out_dir / f"{path.stem}.metrics.json"
    metrics_file.unlink(missing_ok=True)
    checks_file = out_dir / f"{path.stem}.checks.jsonl"
    checks_file.unlink(missing_ok=True)
    env = {
        environment.METRICS_FILE: str(metrics_file),
        environment.WORK_DIR: str(out_dir / "work"),
        environment.CHECKS_FILE: str(checks_file),
        **(env or {}),
    }
    if os.environ.get(environment.DATA_DIR):
        # The kernel runs in the notebook's folder: a relative path given here
        # (LABS_DATA_DIR=../shared/data) means relative to this directory.
        env[environment.DATA_DIR] = str(Path(os.environ[environment.DATA_DIR]).resolve())
    if backend:
        env["KERAS_BACKEND"] = backend
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    start = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            str(path),
            str(out_dir / path.name),
            parameters=parameters,
            cwd=str(path.parent),
            kernel_name=kernel_name,
            progress_bar=progress,
            execution_timeout=timeout,
            **({"stdout_file": sys.stdout, "stderr_file": sys.stderr} if progress else {}),
            **({"allow_errors": True} if allow_errors else {}),
        )
    except papermill.PapermillExecutionError as err:
        error = f"{err.ename}: {err.evalue}"
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - start
    metrics = json.loads(metrics_file.read_text())["metrics"] if metrics_file.is_file() else {}
    if error is None and not metrics:
        error = "the notebook recorded no metric (dl_vision_labs.report.record was never called)"
    checks = (
        [json.loads(line) for line in checks_file.read_text().splitlines() if line.strip()]
        if checks_file.is_file()
        else []
    )
    return Result(path.stem, seconds, error, metrics, checks)


def executed_output(path: Path) -> tuple[bool, str]:
    """Of an executed notebook: whether every code cell ran, and all the text they printed."""
    cells = [c for c in json.loads(Path(path).read_text())["cells"] if c["cell_type"] == "code"]
    printed = "".join("".join(o.get("text", "")) for c in cells for o in c["outputs"])
    return all(c["execution_count"] for c in cells), printed


def number(value: float) -> str:
    """A metric for the tables: four decimals, or two significant digits for a tiny one
    (a largest difference of 4.3e-07 is not 0.0000)."""
    return f"{value:.2e}" if value and abs(value) < 1e-3 else f"{value:.4f}"


def summary_rows(results: list[Result], smoke: bool) -> list[list[str]]:
    rows = []
    for r in results:
        items = list(r.metrics.items()) or [("-", {})]
        for i, (name, m) in enumerate(items):
            target = "" if m.get("target") is None else f"{m['goal']} {m['target']}"
            if r.error:
                verdict = "ERROR"
            elif m.get("target") is None:
                verdict = "-"
            elif smoke:
                verdict = "smoke"
            else:
                verdict = "pass" if m["reached"] else "FAIL"
            value = number(m["value"]) if "value" in m else ""
            rows.append(
                [
                    r.notebook if i == 0 else "",
                    name,
                    value,
                    target,
                    verdict,
                    f"{r.seconds:.0f} s" if i == 0 else "",
                ]
            )
    return rows


def format_table(
    rows: list[list[str]], header=("notebook", "metric", "value", "target", "result", "wall time")
) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="numbers (02), stems or paths; default: all")
    parser.add_argument("--smoke", action="store_true", help="tiny data and epochs (SMOKE=True)")
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="override a parameters-cell value",
    )
    parser.add_argument("--out", type=Path, help="run folder (default: runs/<time>-<mode>)")
    parser.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar and no notebook output while a notebook runs",
    )
    parser.add_argument(
        "--backend",
        choices=["tensorflow", "jax"],
        help="Keras backend for the notebooks (default: KERAS_BACKEND or tensorflow)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        metavar="N",
        help="run every notebook once per seed (SEED = N), each in <out>/seed-N, and "
        "compare the worst seed with each target",
    )
    args = parser.parse_args(argv)
    if args.seeds is not None and any(name == "SEED" for name, _ in args.parameter):
        parser.error("give the seeds with --seeds or one seed with -p SEED N, not both")
    if args.seeds is not None and len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds {' '.join(map(str, args.seeds))} names a seed twice")

    notebooks = find_notebooks(args.notebooks)
    names = dict(args.parameter) | ({"SEED": None} if args.seeds is not None else {})
    problem = unknown_parameters(notebooks, names)  # before running anything
    if problem:
        raise SystemExit(problem)
    mode = ("smoke" if args.smoke else "full") + (f"-{args.backend}" if args.backend else "")
    out_dir = (args.out or ROOT / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{mode}").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    parameters = {"SMOKE": args.smoke, **{k: parse_value(v) for k, v in args.parameter}}

    if args.seeds is None:
        results = run_all(notebooks, out_dir, parameters, args, mode)
        return 0 if all(r.passed(args.smoke) for r in results) else 1

    by_seed = {}
    for seed in args.seeds:
        print(f"==== SEED {seed} ====", flush=True)
        folder = out_dir / f"seed-{seed}"
        folder.mkdir(exist_ok=True)
        by_seed[seed] = run_all(notebooks, folder, {**parameters, "SEED": seed}, args, mode)
    rows = seed_rows(by_seed, args.smoke)
    table = format_seed_table(rows, list(by_seed))
    print(f"\nSeeds {', '.join(map(str, by_seed))} ({mode} mode, run folder {out_dir}):\n{table}")
    report = json.dumps({"mode": mode, "parameters": parameters, "seeds": rows}, indent=2)
    files.atomic_write(out_dir / "seeds.md", lambda tmp: tmp.write_text(table + "\n"))
    files.atomic_write(out_dir / "seeds.json", lambda tmp: tmp.write_text(report))
    passed = all(r.passed(args.smoke) for results in by_seed.values() for r in results)
    return 0 if passed else 1


def run_all(notebooks, out_dir: Path, parameters: dict, args, mode: str) -> list[Result]:
    """Run `notebooks` into `out_dir` one after another; print and write their summary."""
    results = []
    for nb in notebooks:
        print(f"==> {nb.name} ({mode}) ...", flush=True)
        result = run_notebook(
            nb,
            out_dir,
            parameters,
            timeout=args.timeout,
            backend=args.backend,
            progress=not args.quiet,
        )
        status = "error: " + result.error if result.error else "done"
        print(f"    {status} in {result.seconds:.0f} s", flush=True)
        print(format_table(summary_rows([result], args.smoke)), flush=True)
        results.append(result)

    table = format_table(summary_rows(results, args.smoke))
    print(f"\nSummary ({mode} mode, run folder {out_dir}):\n{table}")
    (out_dir / "summary.md").write_text(table + "\n")
    (out_dir / "summary.json").write_text(
        json.dumps(
            {
                "mode": mode,
                "parameters": parameters,
                "results": [dataclasses.asdict(r) for r in results],
            },
            indent=2,
        )
    )
    return results


def seed_rows(by_seed: dict[int, list[Result]], smoke: bool) -> list[dict]:
    """One row per notebook and metric with a target: its value under each seed (None
    where that seed's run failed or did not record it), the worst value, and whether
    every seed reached the target ("smoke" in smoke mode, where nothing is judged)."""
    rows = {}
    for seed, results in by_seed.items():
        for r in results:
            for name, m in r.metrics.items():
                if m.get("target") is None:
                    continue
                row = rows.setdefault(
                    (r.notebook, name),
                    {
                        "notebook": r.notebook,
                        "metric": name,
                        "goal": m["goal"],
                        "target": m["target"],
                        "values": dict.fromkeys(by_seed),
                        "reached": [],
                    },
                )
                row["values"][seed] = None if r.error else m.get("value")
                row["reached"].append(m.get("reached") is True)  # as the notebook judged it
    for row in rows.values():
        values = list(row["values"].values())
        known = [v for v in values if v is not None]
        worst = min if row["goal"] == ">=" else max
        row["worst"] = worst(known) if known else None
        if smoke:
            row["result"] = "smoke"
        elif None in values:
            row["result"] = "ERROR"
        else:
            row["result"] = "pass" if all(row["reached"]) else "FAIL"
        del row["reached"]
    return list(rows.values())


def format_seed_table(rows: list[dict], seeds: list[int]) -> str:
    cells, previous = [], None
    for row in rows:
        cells.append(
            [
                row["notebook"] if row["notebook"] != previous else "",
                row["metric"],
                f"{row['goal']} {row['target']}",
                *("-" if v is None else number(v) for v in row["values"].values()),
                "-" if row["worst"] is None else number(row["worst"]),
                row["result"],
            ]
        )
        previous = row["notebook"]
    header = ["notebook", "metric", "target", *(f"SEED {s}" for s in seeds), "worst", "result"]
    return format_table(cells, header)


if __name__ == "__main__":
    sys.exit(main())
