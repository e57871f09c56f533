"""What the notebook tools share: the repository's folders and settings, the lessons and
their exercise copies, the Colab and GitHub links, and cleaning a notebook. A leaf: it
imports no other module of tools/, and tools.notebooks, tools.exercises and tools.pin
import it."""

from __future__ import annotations

from pathlib import Path

import tomllib
from nbstripout import strip_output

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXERCISES = ROOT / "exercises"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


def settings() -> dict:
    """``[tool.labs]`` from pyproject.toml: repository ("owner/name"), branch (what the badges
    open), ref (the commit of main the Setup cells install, see tools/pin.py) and cpu-only
    (notebooks that need no GPU)."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["labs"]


def colab_url(nb_name: str, cfg: dict | None = None, folder: str = "notebooks") -> str:
    cfg = cfg or settings()
    return (
        f"https://colab.research.google.com/github/{cfg['repository']}/blob/"
        f"{cfg['branch']}/{folder}/{nb_name}"
    )


def github_url(nb_name: str, cfg: dict | None = None, folder: str = "notebooks") -> str:
    cfg = cfg or settings()
    return f"https://github.com/{cfg['repository']}/blob/{cfg['branch']}/{folder}/{nb_name}"


def badge_markdown(nb_name: str, cfg: dict | None = None, folder: str = "notebooks") -> str:
    """The Open-in-Colab badge of a lesson (`folder` "notebooks") or its exercise copy
    ("exercises", written by tools/exercises.py)."""
    return (
        f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(nb_name, cfg, folder)}) "
        f"[View source on GitHub]({github_url(nb_name, cfg, folder)})"
    )


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def teacher_paths() -> list[Path]:
    """The teachers' notebooks (grading): they install the package with the lessons' Setup
    cell, so they too get the pinned commit."""
    return sorted((ROOT / "teachers").glob("*.ipynb"))


def title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return cell.source.lstrip()[2:].splitlines()[0].strip()
    return ""


def tagged(nb, tag: str) -> list:
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


# Run-time metadata that papermill, nbclient, jupytext and widgets leave behind.
RUN_TIME_METADATA = (
    "cell.metadata.execution",
    "cell.metadata.papermill",
    "metadata.papermill",
    "metadata.widgets",
    "metadata.jupytext",
)


def clean(nb) -> None:
    """Strip outputs, execution counts and run-time metadata (with nbstripout); keep cell ids."""
    strip_output(
        nb,
        keep_output=False,
        keep_count=False,
        keep_id=True,
        extra_keys=list(RUN_TIME_METADATA),
        strip_init_cells=True,
    )
