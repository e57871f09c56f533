"""docs/coverage.md, the map of the lecture decks' topics onto the lessons, stays true.

Every row has a known status, every reference `notebooks/NN_name.ipynb#Heading` names a
notebook that exists and a markdown heading it has, every left-out row says why, the counts
line matches the table, and every deck 000-004 has rows. Each check is a function that
returns its problems, so that a broken table (below) shows that each one can fail.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "coverage.md"
STATUSES = ("taught", "in part", "left out")
DECKS = ("000", "001", "002", "003", "004")
HEADER = ("deck", "section", "topic", "status")
REFERENCE = re.compile(r"`(notebooks/[^`#\s]+\.ipynb)#([^`]+)`")
HEADING = re.compile(r"^#{1,3}\s+(.*\S)\s*$")  # '#', '##' or '###' and the heading's text
COUNTS = re.compile(r"^Counts: (\d+) taught, (\d+) in part, (\d+) left out\b")
MIN_REASON_WORDS = 5  # "one sentence on why"

Headings = Callable[[str], "set[str] | None"]  # a notebook's path -> its headings (None: no file)


@dataclass(frozen=True)
class Row:
    line: int
    decks: tuple[str, ...]
    section: str
    topic: str
    status: str
    where: str

    @property
    def references(self) -> list[tuple[str, str]]:
        return [(path, heading.strip()) for path, heading in REFERENCE.findall(self.where)]

    @property
    def reason(self) -> str:
        """The cell's text without its references and separators."""
        return REFERENCE.sub("", self.where).strip(" ;—-")

    def __str__(self) -> str:
        return f"line {self.line} ({self.topic[:50]!r})"


def parse(text: str) -> list[Row]:
    """The table's rows (the first table whose header starts with deck, section, topic, status)."""
    rows, in_table = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if tuple(c.lower() for c in cells[:4]) == HEADER:
            in_table = True
        elif in_table and not set("".join(cells)) <= set("-: "):
            cells += [""] * (5 - len(cells))
            decks = tuple(re.findall(r"\d{3}", cells[0]))
            rows.append(Row(number, decks, *cells[1:4], " | ".join(cells[4:])))
    return rows


def notebook_headings(path: str) -> set[str] | None:
    """The markdown headings of a notebook of this repository, stripped of '#' and blanks."""
    return _headings(ROOT / path)


@cache
def _headings(file: Path) -> set[str] | None:
    if not file.is_file():
        return None
    found = set()
    for cell in json.loads(file.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            lines = "".join(cell["source"]).splitlines()  # a list of lines or one string
            found |= {m.group(1).strip() for m in map(HEADING.match, lines) if m}
    return found


def status_problems(rows: list[Row]) -> list[str]:
    return [
        f"{row}: status {row.status!r} is not one of {STATUSES}"
        for row in rows
        if row.status not in STATUSES
    ]


def reference_problems(rows: list[Row], headings: Headings = notebook_headings) -> list[str]:
    problems = []
    for row in rows:
        if row.status in ("taught", "in part") and not row.references:
            problems.append(f"{row}: {row.status!r} but no `notebooks/NN_name.ipynb#Heading`")
        for path, heading in row.references:
            known = headings(path)
            if known is None:
                problems.append(f"{row}: no notebook {path}")
            elif heading not in known:
                problems.append(f"{row}: {path} has no markdown heading {heading!r}")
    return problems


def reason_problems(rows: list[Row]) -> list[str]:
    return [
        f"{row}: left out without a reason (a sentence on why)"
        for row in rows
        if row.status == "left out" and len(row.reason.split()) < MIN_REASON_WORDS
    ]


def count_problems(text: str, rows: list[Row]) -> list[str]:
    lines = [m for m in map(COUNTS.match, text.splitlines()) if m]
    if len(lines) != 1:
        return [f"{len(lines)} lines 'Counts: N taught, N in part, N left out', expected one"]
    said = dict(zip(STATUSES, map(int, lines[0].groups())))
    counted = Counter(row.status for row in rows)
    return [
        f"the counts line says {said[s]} {s}, the table has {counted[s]}"
        for s in STATUSES
        if said[s] != counted[s]
    ]


def deck_problems(rows: list[Row]) -> list[str]:
    problems = [
        f"{row}: deck {row.decks or '(none)'} is not among {DECKS}"
        for row in rows
        if not row.decks or not set(row.decks) <= set(DECKS)
    ]
    covered = {deck for row in rows for deck in row.decks}
    problems += [f"deck {deck} has no row" for deck in DECKS if deck not in covered]
    return problems


def problems(text: str, headings: Headings = notebook_headings) -> list[str]:
    rows = parse(text)
    if not rows:
        return ["no table with the columns deck | section | topic | status | where"]
    return (
        status_problems(rows)
        + reference_problems(rows, headings)
        + reason_problems(rows)
        + count_problems(text, rows)
        + deck_problems(rows)
    )


# ------------------------------------------------------------------------- the real map


@pytest.fixture(scope="module")
def text() -> str:
    return MAP.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows(text) -> list[Row]:
    return parse(text)


def test_the_map_has_a_table(rows):
    assert len(rows) > 50


def test_every_row_has_a_valid_status(rows):
    assert status_problems(rows) == []


def test_every_reference_names_a_notebook_and_one_of_its_headings(rows):
    assert reference_problems(rows) == []


def test_every_left_out_row_gives_a_reason(rows):
    assert reason_problems(rows) == []


def test_the_counts_line_matches_the_table(text, rows):
    assert count_problems(text, rows) == []


def test_every_deck_has_rows(rows):
    assert deck_problems(rows) == []


# ------------------------------------------------------------- a small table, then broken

SAMPLE = """\
Counts: 3 taught, 1 in part, 1 left out (5 topics).

| deck | section | topic | status | where |
|---|---|---|---|---|
| 000 | nearest neighbour | k-NN | taught | `notebooks/00_x.ipynb#Part 1: kNN` |
| 001, 002 | loss | hinge | taught | `notebooks/00_x.ipynb#Losses`; `notebooks/01_y.ipynb#Losses` |
| 002 | GAN | GAN theory | in part | `notebooks/01_y.ipynb#The game` — the proofs are not derived |
| 003 | Caffe | Caffe | left out | An abandoned framework; the course uses Keras instead. |
| 004 | case study | AlexNet | taught | `notebooks/01_y.ipynb#Losses` |
"""
SAMPLE_HEADINGS = {
    "notebooks/00_x.ipynb": {"Part 1: kNN", "Losses"},
    "notebooks/01_y.ipynb": {"Losses", "The game"},
}


def sample_problems(text: str) -> list[str]:
    return problems(text, SAMPLE_HEADINGS.get)


def test_the_sample_table_is_correct():
    rows = parse(SAMPLE)
    assert [row.status for row in rows] == ["taught", "taught", "in part", "left out", "taught"]
    assert rows[1].decks == ("001", "002")
    assert rows[2].references == [("notebooks/01_y.ipynb", "The game")]
    assert rows[2].reason == "the proofs are not derived"
    assert sample_problems(SAMPLE) == []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("| in part |", "| partly |", "status 'partly' is not one of"),
        ("| in part |", "| Taught |", "status 'Taught' is not one of"),
        (
            "notebooks/00_x.ipynb#Part 1",
            "notebooks/09_z.ipynb#Part 1",
            "no notebook notebooks/09_z.ipynb",
        ),
        ("#Part 1: kNN", "#Part 1: k-NN", "has no markdown heading 'Part 1: k-NN'"),
        (
            "| taught | `notebooks/00_x.ipynb#Part 1: kNN` |",
            "| taught | lesson 00 |",
            "'taught' but no",
        ),
        (
            "| An abandoned framework; the course uses Keras instead. |",
            "| |",
            "left out without a reason",
        ),
        (
            "| An abandoned framework; the course uses Keras instead. |",
            "| Caffe. |",
            "left out without a reason",
        ),
        ("Counts: 3 taught", "Counts: 4 taught", "says 4 taught, the table has 3"),
        ("1 left out (5", "2 left out (5", "says 2 left out, the table has 1"),
        ("Counts: 3 taught, 1 in part, 1 left out (5 topics).", "", "0 lines 'Counts:"),
        ("| 004 | case study |", "| 003 | case study |", "deck 004 has no row"),
        ("| 004 | case study |", "| 005 | case study |", "is not among"),
    ],
)
def test_each_check_fails_on_a_broken_table(old, new, expected):
    assert old in SAMPLE
    found = sample_problems(SAMPLE.replace(old, new))
    assert any(expected in problem for problem in found), found


def test_a_page_without_the_table_fails():
    assert sample_problems("Counts: 0 taught, 0 in part, 0 left out\n") == [
        "no table with the columns deck | section | topic | status | where"
    ]


def test_headings_are_read_from_markdown_cells_only(tmp_path):
    notebook = tmp_path / "nb.ipynb"
    cells = [
        {"cell_type": "markdown", "source": ["# Title\n", "text\n", "## Part 1: a  b \n"]},
        {"cell_type": "markdown", "source": "### Deep\n#### Too deep\n#not a heading"},
        {"cell_type": "code", "source": ["# a comment\n"]},
    ]
    notebook.write_text(json.dumps({"cells": cells}), encoding="utf-8")
    assert _headings(notebook) == {"Title", "Part 1: a  b", "Deep"}
    assert _headings(tmp_path / "missing.ipynb") is None
