"""The course as a static website, built from the executed notebooks of a run folder.

    python -m tools site                       # from the newest run folder under runs/
    python -m tools site --run runs/<time>-full [--out build/site]

A run folder is what the runner leaves (tools/runner.py: the executed notebooks, one
``<notebook>.metrics.json`` each, ``summary.json`` and ``summary.md``); `make test` leaves one
too, ``runs/tests-smoke/``, from the notebooks' smoke executions (``pytest --keep-run``,
tests/conftest.py), so that CI builds the site without running the notebooks again.

Sphinx with myst-nb and sphinx-book-theme renders it; their configuration is ``website/``
(``conf.py``, the stylesheet, the local badges). This module copies that folder into
``build/site-src/``, writes the pages there (the course map, one page per lesson with the
run's outputs and its metrics against their targets, the run's results, the teachers'
page), adds MathJax from the npm registry (pinned, its SHA-512 checked, cached), and runs
Sphinx into ``build/site/``: a static folder that any web server, or a browser opening
``index.html``, shows without network access. A smoke run's site says so on every page.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from tools import common, runner
from tools.common import EXERCISES, ROOT

RUNS = ROOT / "runs"
WEBSITE = ROOT / "website"  # the generator's configuration
SOURCES = ROOT / "build" / "site-src"  # what Sphinx reads (written by `build`)
OUT = ROOT / "build" / "site"
TESTS_RUN = RUNS / "tests-smoke"  # `make test` leaves the smoke executions here
SMOKE_NOTE = "smoke run: numbers are not results"
# The math renderer, bundled so that the site works offline: MathJax 3 (what Sphinx and
# Jupyter use), the npm registry's tarball, checked against its published SHA-512.
MATHJAX = {
    "package": "mathjax@3.2.2",
    "integrity": (
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/"
        "O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
    ),
}
# What the pages use of it: the TeX-to-HTML component, the extensions it loads on demand
# (\boldsymbol, \color, ...), its fonts and menu; not the speech rule engine (sre/, 13 MB).
MATHJAX_FILES = (
    "LICENSE",
    "es5/tex-chtml.js",
    "es5/input/tex/extensions/",
    "es5/output/chtml/fonts/woff-v2/",
    "es5/ui/",
    "es5/a11y/",
)


# --- the run folder that `make test` leaves (tests/conftest.py, --keep-run) -------------


def start_kept_run(folder: Path) -> None:
    """Empty `folder`: the smoke executions of this test session go there."""
    shutil.rmtree(folder, ignore_errors=True)
    Path(folder).mkdir(parents=True)


def keep(result: runner.Result, out_dir: Path, folder: Path) -> None:
    """Copy one smoke execution (`runner.run_notebook` into `out_dir`) into the run folder."""
    folder = Path(folder)
    for name in (f"{result.notebook}.ipynb", f"{result.notebook}.metrics.json"):
        if (Path(out_dir) / name).is_file():
            shutil.copy2(Path(out_dir) / name, folder / name)
    (folder / f"{result.notebook}.result.json").write_text(
        json.dumps(dataclasses.asdict(result), indent=2)
    )


def finish_kept_run(folder: Path) -> None:
    """Write the run's ``summary.md`` and ``summary.json``, as the runner does."""
    folder = Path(folder)
    results = [
        runner.Result(**json.loads(p.read_text())) for p in sorted(folder.glob("*.result.json"))
    ]
    if not results:
        return
    (folder / "summary.md").write_text(
        runner.format_table(runner.summary_rows(results, smoke=True)) + "\n"
    )
    summary = {
        "mode": "smoke",
        "parameters": {"SMOKE": True},
        "results": [dataclasses.asdict(r) for r in results],
        "made_by": "the test suite (tests/test_notebooks.py, pytest --keep-run)",
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))


# --- reading a run folder -------------------------------------------------------------


def newest_run(runs: Path = RUNS) -> Path:
    """The run folder whose summary was written last."""
    found = sorted(Path(runs).glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit(
            f"No run folder with a summary.json under {runs}: `make run` (full mode), "
            "`make run ARGS=--smoke` or `make test` leaves one."
        )
    return found[-1].parent


@dataclasses.dataclass
class Run:
    folder: Path
    mode: str
    parameters: dict
    date: str
    results: dict  # notebook stem -> the runner's result (seconds, error, metrics, checks)
    summary_md: str

    @property
    def smoke(self) -> bool:
        return self.mode.startswith("smoke")

    def executed(self, lesson: Path) -> Path | None:
        path = self.folder / lesson.name
        return path if path.is_file() and lesson.stem in self.results else None


def read_run(folder: Path) -> Run:
    folder = Path(folder).resolve()
    summary_file = folder / "summary.json"
    if not summary_file.is_file():
        raise SystemExit(f"{folder} is not a run folder: it has no summary.json (tools/runner.py)")
    summary = json.loads(summary_file.read_text())
    stamp = re.match(r"(\d{8})-(\d{6})", folder.name)
    when = (
        time.strptime("".join(stamp.groups()), "%Y%m%d%H%M%S")
        if stamp
        else time.localtime(summary_file.stat().st_mtime)
    )
    results = {r["notebook"]: r for r in summary.get("results", [])}
    for stem, result in results.items():  # the metrics as the notebook recorded them
        recorded = folder / f"{stem}.metrics.json"
        if recorded.is_file():
            result["metrics"] = json.loads(recorded.read_text())["metrics"]
    md = folder / "summary.md"
    return Run(
        folder=folder,
        mode=summary.get("mode", "full"),
        parameters=summary.get("parameters", {}),
        date=time.strftime("%Y-%m-%d %H:%M", when),
        results=results,
        summary_md=md.read_text() if md.is_file() else "",
    )


def _parameter(nb, name: str):
    """The value of `name` the notebook ran with: papermill's injected cell, else its own."""
    value = None
    for tag in ("parameters", "injected-parameters"):
        for cell in common.tagged(nb, tag):
            match = re.search(rf"^{name}\s*=\s*(.+?)\s*(#.*)?$", cell.source, re.M)
            if match:
                value = match.group(1)
    return value


def hardware(nb) -> list[str]:
    """The hardware block that `runtime.prepare` printed in an executed notebook."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", ""))
            if "Accelerator :" in text:
                start = text.index("Accelerator :")
                return [line for line in text[start:].splitlines() if line.strip()]
    return []


# --- the pages ------------------------------------------------------------------------


def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def overview(nb) -> str:
    """The first paragraph of a lesson's Overview."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("## Overview"):
            text = cell.source.split("\n", 1)[1].strip()
            if not text and i + 1 < len(nb.cells):
                text = nb.cells[i + 1].source.strip()
            return text.split("\n\n")[0]
    return ""


def _value(m: dict) -> str:
    return f"{m['value']:.4g}" if "value" in m else "–"


def metrics_table(metrics: dict, smoke: bool) -> str:
    """A lesson's recorded metrics against their targets, as a Markdown table."""
    if not metrics:
        return "No metric was recorded in this run."
    rows = ["| metric | this run | target | reached |", "|---|---|---|---|"]
    for name, m in metrics.items():
        target = "" if m.get("target") is None else f"{m['goal']} {m['target']:g}"
        if m.get("target") is None:
            verdict = ""
        elif smoke:
            verdict = "smoke run"
        else:
            verdict = "yes" if m.get("reached") else "**no**"
        rows.append(f"| `{name}` | {_value(m)} | {target} | {verdict} |")
    return "\n".join(rows)


def _badges(lesson: Path, prefix: str) -> str:
    """The lesson's Colab badge and its exercise version's (tools/common.py's links), with
    the site's own badge images (no image from another host)."""
    cfg = common.settings()
    out = (
        f"[![Open the lesson in Colab]({prefix}_static/colab-badge.svg)]"
        f"({common.colab_url(lesson.name, cfg)})"
    )
    if (EXERCISES / lesson.name).is_file():
        out += (
            f" [![Open the exercises in Colab]({prefix}_static/exercises-badge.svg)]"
            f"({common.colab_url(lesson.name, cfg, folder='exercises')})"
        )
    return out


def home_page(run: Run, lessons: list[Path]) -> str:
    cfg = common.settings()
    parts = [
        "# Deep learning for vision",
        "",
        "Ten notebook lessons, from a nearest-neighbour classifier to a generative "
        "adversarial network, in TensorFlow and Keras 3. Each page below shows a lesson "
        f"as the run of {run.date} ({run.mode} mode) executed it: its figures, its printed "
        "results and its metrics against the targets it promises. Open a lesson in Colab "
        "to run it yourself, or its exercise version to write the key lines and have them "
        "checked. [The run's results](results.md) and [the teachers' page](teachers.md) "
        f"are at the end; the source is on [GitHub](https://github.com/{cfg['repository']}).",
        "",
        "## The course map",
        "",
    ]
    for lesson in lessons:
        nb = _read(lesson)
        result = run.results.get(lesson.stem, {})
        parts += [
            f"### [{lesson.stem[:2]} · {common.title(nb)}](lessons/{lesson.name})",
            "",
            overview(nb),
            "",
            _badges(lesson, ""),
            "",
            metrics_table(result.get("metrics", {}), run.smoke)
            if result
            else "Not executed in this run.",
            "",
        ]
    parts += ["```{toctree}", ":hidden:", ":caption: Lessons", ""]
    parts += [f"lessons/{lesson.stem}" for lesson in lessons]
    parts += ["```", "", "```{toctree}", ":hidden:", ":caption: This run and teaching", ""]
    parts += ["results", "teachers", "```", ""]
    return "\n".join(parts)


def results_page(run: Run, lessons: list[Path]) -> str:
    seeds, machine = {}, []
    for lesson in lessons:
        path = run.executed(lesson)
        if path:
            nb = _read(path)
            seeds[lesson.stem] = _parameter(nb, "SEED") or "?"
            machine = machine or hardware(nb)
    failed = [n for n, r in run.results.items() if r.get("error")]
    parts = [
        "# Results of this run",
        "",
        f"- **date**: {run.date}",
        f"- **mode**: {run.mode}" + (f" ({SMOKE_NOTE})" if run.smoke else ""),
        "- **parameters set for every notebook**: "
        + (", ".join(f"`{k} = {v!r}`" for k, v in run.parameters.items()) or "none"),
        "- **seeds**: "
        + (", ".join(f"{n[:2]}: `{s}`" for n, s in seeds.items()) or "no notebook ran"),
        f"- **notebooks executed**: {len(run.results)} of {len(lessons)}"
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        f"- **run folder**: `{run.folder.name}`",
        "",
        "## Hardware",
        "",
        "As the first notebook's `runtime.prepare` reported it:",
        "",
        "```text",
        *(machine or ["(not printed)"]),
        "```",
        "",
        "## Metrics against targets",
        "",
        "The runner's summary (`summary.md` in the run folder): every metric a notebook "
        "records with `report.record`, its target, and the notebook's wall time.",
        "",
        run.summary_md.strip() or "(this run folder has no summary.md)",
        "",
    ]
    return "\n".join(parts)


_HEADING = re.compile(r"^(#{2,6}) ", re.M)
_RELATIVE_LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)\s]+)\)")


def readme_section(start: str, end: str) -> str:
    """A README section, its headings one level up and its repository links on GitHub."""
    text = (ROOT / "README.md").read_text()
    body = text.split(start, 1)[1].split(end, 1)[0]
    cfg = common.settings()
    base = f"https://github.com/{cfg['repository']}/blob/{cfg['branch']}/"
    body = _RELATIVE_LINK.sub(lambda m: f"]({base}{m.group(1)})", body)
    return _HEADING.sub(lambda m: m.group(1)[1:] + " ", body).strip()


def teachers_page(lessons: list[Path]) -> str:
    from tools import exercises

    rows = ["| lesson | exercises (the check of each has its name) | student version |"]
    rows.append("|---|---|---|")
    for lesson in lessons:
        names = [n for _, n in exercises.holes(_read(lesson))]
        if names:
            link = common.colab_url(lesson.name, folder="exercises")
            rows.append(
                f"| [{lesson.stem[:2]} · {common.title(_read(lesson))}](lessons/{lesson.name}) "
                f"| {', '.join(f'`{n}`' for n in names)} "
                f"| [![Open the exercises in Colab](_static/exercises-badge.svg)]({link}) |"
            )
    return "\n".join(
        [
            "# For teachers",
            "",
            "Every lesson with exercises has a student version: the lines that are the lesson "
            "are left for the student to write, and the next cell checks them at once. The "
            "grader turns a folder of handed-in notebooks into a gradebook.",
            "",
            *rows,
            "",
            readme_section("## For teachers: exercise notebooks\n", "\n## Contributing"),
            "",
        ]
    )


def _title_cell(nb) -> int | None:
    return next(
        (
            i
            for i, c in enumerate(nb.cells)
            if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")
        ),
        None,
    )


def lesson_notebook(lesson: Path, run: Run):
    """The page of a lesson: the run's executed notebook (else the lesson without outputs),
    local badge images, its exercise badge and this run's metrics after the Colab badge."""
    import nbformat

    executed = run.executed(lesson)
    nb = _read(executed or lesson)
    result = run.results.get(lesson.stem, {})
    error = result.get("error")
    note = [
        "```{admonition} This run",
        f"{run.mode} mode, {run.date}"
        + (f": {SMOKE_NOTE}." if run.smoke else ".")
        + (f" The notebook stopped with an error: `{error}`" if error else ""),
        "",
        metrics_table(result.get("metrics", {}), run.smoke)
        if executed
        else "Not executed in this run: the lesson is shown without outputs.",
        "```",
    ]
    badge_at = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and i == _title_cell(nb):
            cell.source = f"# {lesson.stem[:2]} · {cell.source.lstrip()[2:]}"  # the menu's entry
        if "colab-badge" in cell.metadata.get("tags", []):
            cell.source = _badges(lesson, "../")
            badge_at = i
    nb.cells.insert(badge_at + 1, nbformat.v4.new_markdown_cell("\n".join(note)))
    for cell in nb.cells:
        cell.pop("id", None)  # the inserted cell has none; ids are not shown anyway
    nb.nbformat_minor = 4
    return nb


# --- MathJax --------------------------------------------------------------------------


def _cache() -> Path:
    from dl_vision_labs.files import cache_dir

    return cache_dir() / "site"


def mathjax_tarball() -> Path:
    """The pinned MathJax tarball (`npm pack`, cached), its SHA-512 checked."""
    name = MATHJAX["package"].replace("@", "-") + ".tgz"
    path = _cache() / name
    if not path.is_file():
        if not shutil.which("npm"):
            raise SystemExit("The site bundles MathJax from the npm registry: install npm.")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            subprocess.run(
                ["npm", "pack", MATHJAX["package"], "--pack-destination", tmp, "--silent"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            Path(tmp, name).replace(path)
    algorithm, expected = MATHJAX["integrity"].split("-", 1)
    digest = base64.b64encode(hashlib.new(algorithm, path.read_bytes()).digest()).decode()
    if digest != expected:
        path.unlink()
        raise SystemExit(f"{name}: its {algorithm} is not the pinned one; removed, try again")
    return path


def unpack_mathjax(dest: Path) -> None:
    with tarfile.open(mathjax_tarball()) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.isfile()
            and any(m.name.removeprefix("package/").startswith(f) for f in MATHJAX_FILES)
        ]
        for m in members:
            m.name = m.name.removeprefix("package/").removeprefix("es5/")
        tar.extractall(dest, members=members, filter="data")


# --- the build ------------------------------------------------------------------------


def build(folder: Path, out: Path = OUT, sources: Path = SOURCES, quiet: bool = True) -> Path:
    """Build the site of run `folder` into `out`; return `out`."""
    run = read_run(folder)
    lessons = common.notebook_paths()
    shutil.rmtree(sources, ignore_errors=True)
    shutil.copytree(WEBSITE, sources, ignore=shutil.ignore_patterns("__pycache__"))
    (sources / "lessons").mkdir()
    import nbformat

    for lesson in lessons:
        nbformat.write(lesson_notebook(lesson, run), sources / "lessons" / lesson.name)
    (sources / "index.md").write_text(home_page(run, lessons))
    (sources / "results.md").write_text(results_page(run, lessons))
    (sources / "teachers.md").write_text(teachers_page(lessons))
    cfg = common.settings()
    info = {
        "repository": cfg["repository"],
        "branch": cfg["branch"],
        "announcement": SMOKE_NOTE if run.smoke else "",
    }
    (sources / "site.json").write_text(json.dumps(info))
    unpack_mathjax(sources / "_static" / "mathjax")

    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "--keep-going"]
    command += ["-q"] if quiet else []
    command += ["-d", str(sources.parent / "site-doctrees"), str(sources), str(out)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    done = subprocess.run(command, env=env)
    if done.returncode:
        raise SystemExit(f"sphinx-build failed (exit status {done.returncode})")
    (out / "run.json").write_text(
        json.dumps(
            {
                "run": str(run.folder),
                "mode": run.mode,
                "smoke": run.smoke,
                "lessons": [p.stem for p in lessons],
                "executed": [p.stem for p in lessons if run.executed(p)],
            },
            indent=2,
        )
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="run folder (default: the newest under runs/)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default: {OUT.relative_to(ROOT)}")
    parser.add_argument("--verbose", action="store_true", help="Sphinx's progress lines")
    args = parser.parse_args(argv)
    folder = args.run or newest_run()
    start = time.perf_counter()
    out = build(folder, args.out.resolve(), quiet=not args.verbose)
    pages = len([p for p in out.rglob("*.html") if "_static" not in p.parts])
    print(
        f"built {pages} pages from {folder} in {time.perf_counter() - start:.0f} s: "
        f"{out / 'index.html'}"
    )
    return 0
