"""The course website (tools/site.py): its pages from a run folder, then the built site in a
real browser.

The browser tests (marker `site`) read the site that `make site` last built (build/site/,
its run.json names the run folder) and run in Debian's Chromium driven by Playwright:
`make test-site` builds the site from the smoke executions that `make test` left in
runs/tests-smoke/ and runs them (`make browser` installs Chromium). The others run in
`make test` and `make test-fast`.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import nbformat
import pytest

from tools import common, exercises, notebooks, runner, site

LESSONS = common.notebook_paths()
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# --- the pages, from a run folder (no browser) ----------------------------------------


def _fake_run(folder: Path, lessons: list[Path], mode="full", reached=True) -> Path:
    """A run folder in the runner's layout, from lessons without outputs."""
    folder.mkdir(parents=True)
    results = []
    for i, lesson in enumerate(lessons):
        (folder / lesson.name).write_bytes(lesson.read_bytes())
        value = {"value": 0.5 + i / 100, "target": 0.9, "goal": ">=", "reached": reached}
        metrics = {"test_accuracy": value}
        results.append(runner.Result(lesson.stem, 12.0, None, metrics))
    (folder / "summary.md").write_text(runner.format_table(runner.summary_rows(results, False)))
    summary = {"mode": mode, "parameters": {"SMOKE": mode == "smoke"}, "results": []}
    summary["results"] = [r.__dict__ for r in results]
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_the_newest_run_is_the_one_whose_summary_was_written_last(tmp_path):
    old = _fake_run(tmp_path / "20990101-000000-full", LESSONS[:1])
    new = _fake_run(tmp_path / "tests-smoke", LESSONS[:1], mode="smoke")
    import os

    os.utime(old / "summary.json", (1, 1))
    assert site.newest_run(tmp_path) == new
    (tmp_path / "no-summary").mkdir()
    assert site.newest_run(tmp_path) == new
    with pytest.raises(SystemExit, match="make test"):
        site.newest_run(tmp_path / "no-summary")


def test_the_test_suite_leaves_a_run_folder_in_the_runners_layout(tmp_path):
    folder = tmp_path / "tests-smoke"
    (folder).mkdir()
    (folder / "stale.result.json").write_text("{}")
    site.start_kept_run(folder)
    assert list(folder.iterdir()) == []
    work = tmp_path / "work"
    work.mkdir()
    for lesson, error in ((LESSONS[0], None), (LESSONS[1], "ValueError: boom")):
        (work / lesson.name).write_text("{}")
        (work / f"{lesson.stem}.metrics.json").write_text('{"metrics": {}}')
        metrics = {"acc": {"value": 0.25, "target": 0.9, "goal": ">=", "reached": False}}
        site.keep(runner.Result(lesson.stem, 3.0, error, metrics), work, folder)
    site.finish_kept_run(folder)
    recorded = {"metrics": {"acc": {"value": 0.5, "target": 0.9, "goal": ">=", "reached": False}}}
    (folder / f"{LESSONS[0].stem}.metrics.json").write_text(json.dumps(recorded))
    run = site.read_run(folder)
    assert run.results[LESSONS[0].stem]["metrics"]["acc"]["value"] == 0.5  # the file's
    assert run.smoke and run.mode == "smoke" and run.parameters == {"SMOKE": True}
    assert list(run.results) == [LESSONS[0].stem, LESSONS[1].stem]
    assert run.results[LESSONS[1].stem]["error"] == "ValueError: boom"
    assert run.executed(LESSONS[0]) == folder / LESSONS[0].name
    assert run.executed(LESSONS[2]) is None
    assert "| smoke " in run.summary_md and "ERROR" in run.summary_md  # runner's table


def test_pages_show_the_course_map_badges_and_metrics_against_targets(tmp_path):
    run = site.read_run(_fake_run(tmp_path / "20261206-120000-full", LESSONS[:2], reached=False))
    assert run.date == "2026-12-06 12:00" and not run.smoke
    home = site.home_page(run, LESSONS)
    for lesson in LESSONS:
        assert f"]({common.colab_url(lesson.name)})" in home
        assert f"(lessons/{lesson.name})" in home
        if (common.EXERCISES / lesson.name).is_file():
            assert f"]({common.colab_url(lesson.name, folder='exercises')})" in home
    assert common.BADGE_IMAGE not in home  # the site's own badge images: no other host
    assert "| `test_accuracy` | 0.5 | >= 0.9 | **no** |" in home
    assert home.count("Not executed in this run.") == len(LESSONS) - 2
    assert site.SMOKE_NOTE not in home
    smoke = site.read_run(_fake_run(tmp_path / "s", LESSONS[:1], mode="smoke"))
    assert "| `test_accuracy` | 0.5 | >= 0.9 | smoke run |" in site.home_page(smoke, LESSONS)
    results = site.results_page(run, LESSONS)
    assert "2026-12-06 12:00" in results and "**mode**: full" in results
    assert "| notebook " in results  # the runner's summary table


def test_a_lesson_page_has_its_badges_and_the_runs_metrics_after_the_title():
    run = site.Run(Path("/nowhere"), "smoke", {}, "2026-12-06 12:00", {}, "")
    lesson = next(p for p in LESSONS if (common.EXERCISES / p.name).is_file())
    nb = site.lesson_notebook(lesson, run)
    badge = next(c for c in nb.cells if "colab-badge" in c.metadata.get("tags", []))
    assert common.colab_url(lesson.name) in badge.source
    assert common.colab_url(lesson.name, folder="exercises") in badge.source
    note = nb.cells[nb.cells.index(badge) + 1].source
    assert site.SMOKE_NOTE in note and "Not executed in this run" in note


def test_the_teachers_page_lists_every_exercise_and_links_to_github_not_the_repo():
    page = site.teachers_page(LESSONS)
    for lesson in LESSONS:
        for _, name in exercises.holes(nbformat.read(lesson, as_version=4)):
            assert f"`{name}`" in page
    assert "## Grading a class" in page
    assert "](teachers/" not in page and "](notebooks/" not in page  # no link to a repo file


def test_a_mathjax_tarball_that_is_not_the_pinned_one_is_refused_and_removed(monkeypatch):
    tarball = site._cache() / (site.MATHJAX["package"].replace("@", "-") + ".tgz")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    tarball.write_bytes(b"not mathjax")
    with pytest.raises(SystemExit, match="not the pinned one"):
        site.mathjax_tarball()
    assert not tarball.exists()


# --- the built site, in Chromium ------------------------------------------------------


@pytest.fixture(scope="module")
def built() -> dict:
    info_file = site.OUT / "run.json"
    assert info_file.is_file(), "no site built: run `make site` (or `make test-site`)"
    return json.loads(info_file.read_text())


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _refuse(problems: list, route) -> None:
    problems.append(f"request to another host: {route.request.url}")
    route.abort()


@pytest.fixture(scope="module")
def browsed(built) -> dict:
    """Every page of the site, loaded in Chromium from a local server, and what it showed."""
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site.OUT))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}/"
    pages = sorted(
        p.relative_to(site.OUT).as_posix()
        for p in site.OUT.rglob("*.html")
        if not p.relative_to(site.OUT).as_posix().startswith("_static/")
    )
    seen = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            for name in pages:  # each in a page of its own: what goes wrong is that page's
                page, problems = context.new_page(), []
                page.on("console", lambda m, out=problems: m.type == "error" and out.append(m.text))
                page.on("pageerror", lambda e, out=problems: out.append(f"page error: {e}"))
                page.on(
                    "requestfailed",
                    lambda r, out=problems: out.append(f"failed: {r.url} {r.failure}"),
                )
                page.on(
                    "response",
                    lambda r, out=problems: r.status >= 400 and out.append(f"{r.status}: {r.url}"),
                )

                page.route(
                    re.compile(r"^(?!" + re.escape(origin) + ")https?://.*"),
                    functools.partial(_refuse, problems),  # the site must not need the network
                )
                page.goto(origin + name, wait_until="networkidle")
                if page.locator(".math").count():
                    page.wait_for_function("() => window.MathJax && MathJax.startup?.promise")
                    page.evaluate("() => MathJax.startup.promise")
                seen[name] = page.evaluate(_COLLECT) | {"problems": problems}
                if name == "index.html":
                    page.screenshot(path=str(Path(built["run"]) / "site-home.png"))
                if name == "lessons/04_convolutional_network.html":
                    page.screenshot(path=str(Path(built["run"]) / "site-lesson-04.png"))
                page.close()
            browser.close()
    finally:
        server.shutdown()
    return {"origin": origin, "pages": seen}


_COLLECT = """() => {
  const article = document.querySelector('article') || document.body;
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, .cell_output, mjx-container, script, style')
       .forEach(e => e.remove());
  const link = sel => { const a = document.querySelector(sel); return a ? a.href : null; };
  return {
    banner: document.querySelector('.bd-header-announcement')?.innerText.trim() ?? '',
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    images: [...article.querySelectorAll('img')].map(i => ({
        src: i.currentSrc || i.src, width: i.naturalWidth, output: !!i.closest('.cell_output')})),
    math: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
    math_errors: document.querySelectorAll('mjx-merror').length,
    raw_math: (prose.innerText.match(/\\$[^$\\n]+\\$|\\\\\\(|\\\\\\[/g) || []),
    prev: link('a.left-prev'),
    next: link('a.right-next'),
  };
}"""


def _lesson_page(lesson: Path) -> str:
    return f"lessons/{lesson.stem}.html"


@pytest.mark.site
def test_every_page_loads_without_errors_failed_requests_or_other_hosts(browsed):
    pages = browsed["pages"]
    expected = {"index.html", "results.html", "teachers.html"} | {_lesson_page(p) for p in LESSONS}
    assert expected <= set(pages)
    bad = [f"{n}: {problem}" for n, p in pages.items() for problem in p["problems"]]
    assert not bad, "\n".join(bad)


@pytest.mark.site
def test_a_smoke_runs_site_says_so_on_every_page(browsed, built):
    assert built["smoke"], "test-site builds from a smoke run (runs/tests-smoke)"
    assert {n for n, p in browsed["pages"].items() if p["banner"] != site.SMOKE_NOTE} == set()


@pytest.mark.site
def test_every_lesson_page_shows_the_runs_figures(browsed, built):
    assert built["executed"] == [p.stem for p in LESSONS], "the run lacks a lesson"
    for lesson in LESSONS:
        images = browsed["pages"][_lesson_page(lesson)]["images"]
        undecoded = [i["src"] for i in images if i["width"] == 0]
        assert not undecoded, f"{lesson.stem}: images not decoded: {undecoded}"
        executed = nbformat.read(Path(built["run"]) / lesson.name, as_version=4)
        figures = sum(  # matplotlib's PNGs, a GIF of training (09)
            any(mime.startswith("image/") for mime in out.get("data", {}))
            for cell in executed.cells
            if cell.cell_type == "code"
            for out in cell.outputs
        )
        assert sum(i["output"] for i in images) == figures, lesson.stem


@pytest.mark.site
def test_math_is_typeset_everywhere(browsed):
    pages = browsed["pages"]
    for lesson in LESSONS:
        assert pages[_lesson_page(lesson)]["typeset"] > 0, f"{lesson.stem}: no typeset math"
    for name, p in pages.items():
        assert p["typeset"] >= p["math"], f"{name}: {p['math'] - p['typeset']} formulas left"
        assert p["math_errors"] == 0, f"{name}: MathJax could not read a formula"
        assert p["raw_math"] == [], f"{name}: raw TeX left in the text: {p['raw_math'][:5]}"


@pytest.mark.site
def test_internal_links_resolve(browsed):
    origin, pages = browsed["origin"], browsed["pages"]
    broken = []
    for name, p in pages.items():
        for href in p["links"]:
            url, fragment = urldefrag(href)
            if not url.startswith(origin):
                continue
            path = urlparse(url).path.lstrip("/") or "index.html"
            target = site.OUT / path
            if target.is_dir():
                path, target = f"{path.rstrip('/')}/index.html".lstrip("/"), target / "index.html"
            if not target.is_file():
                broken.append(f"{name}: {href}")
            elif fragment and path in pages and fragment not in pages[path]["ids"]:
                broken.append(f"{name}: {href} (no such anchor)")
    assert broken == []


@pytest.mark.site
def test_previous_and_next_lead_through_the_ten_lessons_in_order(browsed):
    origin, pages = browsed["origin"], browsed["pages"]
    chain, name = [], "index.html"
    while name in pages and name not in chain:
        chain.append(name)
        following = pages[name]["next"]
        name = following.removeprefix(origin) if following else None
    lessons = [_lesson_page(p) for p in LESSONS]
    assert len(lessons) == 10
    assert chain == ["index.html", *lessons, "results.html", "teachers.html"]
    for before, after in zip(chain, chain[1:]):
        assert pages[after]["prev"] == urljoin(origin, before), after


@pytest.mark.site
def test_each_lesson_badge_opens_that_lesson_in_colab(browsed):
    for lesson in LESSONS:
        links = browsed["pages"][_lesson_page(lesson)]["links"]
        colab = [h for h in links if h.startswith("https://colab.research.google.com/")]
        expected = [common.colab_url(lesson.name)]
        if (common.EXERCISES / lesson.name).is_file():
            expected.append(common.colab_url(lesson.name, folder="exercises"))
        if not notebooks.is_guide(lesson.name):  # the setup note links 00's guide section
            expected.append(common.colab_url(LESSONS[0].name))
        assert colab == expected, lesson.stem
        assert common.colab_url(lesson.name) in browsed["pages"]["index.html"]["links"]


@pytest.mark.site
def test_screenshots_of_the_home_page_and_a_lesson_are_in_the_run_folder(browsed, built):
    for name in ("site-home.png", "site-lesson-04.png"):
        png = Path(built["run"]) / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
