"""Keep the notebooks, colab_badges.md and exercises/ consistent with the repository settings.

    python -m tools sync    # pin, badges, Setup cells, stripped outputs, exercises/
    python -m tools check   # list what is out of date (exit 1 if anything); the default

The repository, branch and pinned ref are configured once, in ``pyproject.toml``
under ``[tool.labs]``. From them this script generates, in every notebook, the
cell tagged ``colab-badge`` (Open in Colab / GitHub links), the cell tagged
``setup`` (installs the package's pinned commit on a fresh Colab runtime, plus
tensorflow-cpu where TensorFlow is missing) and the Colab metadata (a GPU runtime
unless ``cpu-only``), and the file ``colab_badges.md`` listing every notebook.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from dl_vision_labs.files import atomic_write
from tools.common import (  # noqa: F401  (re-exported: notebooks.settings(), ...)
    BADGE_IMAGE,
    NOTEBOOKS,
    ROOT,
    badge_markdown,
    clean,
    colab_url,
    github_url,
    notebook_paths,
    settings,
    tagged,
    teacher_paths,
    title,
)
from tools.exercises import exercise_paths, has_holes, stale
from tools.exercises import generate as generate_exercises
from tools.exercises import problems as exercise_problems

BADGES_FILE = ROOT / "colab_badges.md"
REQUIRED_PARAMETERS = ("EPOCHS", "BATCH_SIZE", "SEED", "SMOKE")

# Notebook 00 explains the machinery every notebook shares in a section of its own; every
# other notebook links to it from a markdown cell tagged `setup-note` before its Setup cell.
GUIDE_PREFIX = "00_"
GUIDE_HEADING = "How these notebooks work"
SETUP_NOTE = "setup-note"


def is_guide(nb_name: str) -> bool:
    return nb_name.startswith(GUIDE_PREFIX)


def setup_note_source(cfg: dict | None = None, guide: str | None = None) -> str:
    """The cell before a Setup cell: what it does, and a link to notebook 00's guide."""
    guide = guide or next((p.name for p in notebook_paths() if is_guide(p.name)), None)
    if guide is None:
        raise FileNotFoundError(f"no notebook {GUIDE_PREFIX}*.ipynb in {NOTEBOOKS}")
    return (
        "The next cell installs the course package where it is missing (Colab's own\n"
        f"TensorFlow and Keras stay). *[{GUIDE_HEADING}]({colab_url(guide, cfg)})*, a\n"
        "section of notebook 00, explains it, the parameters cell and `SMOKE`, and where a\n"
        "notebook keeps its checkpoints."
    )


def package_url(cfg: dict | None = None) -> str:
    """Where the Setup cell installs the package from: the repository at the pinned `ref`
    (a commit of main, see tools/pin.py; the branch only when no ref is configured)."""
    cfg = cfg or settings()
    return f"git+https://github.com/{cfg['repository']}@{cfg.get('ref') or cfg['branch']}"


# The extra that the Setup cell adds on a runtime without TensorFlow (Colab's TPU
# runtime): tensorflow-cpu, for tf.data and tensorflow_datasets (requirements-tpu.txt).
NO_TENSORFLOW_EXTRA = "tpu"
NO_TENSORFLOW_NOTE = (
    "No TensorFlow on this runtime (Colab TPU): also installing tensorflow-cpu "
    "for tf.data (about 1.3 GB, a minute or two)."
)


def install_requirement(
    cfg: dict | None = None, *, tensorflow: bool = True, url: str | None = None
) -> str:
    """The requirement the Setup cell gives to pip (`url` replaces the repository's)."""
    extra = "" if tensorflow else f"[{NO_TENSORFLOW_EXTRA}]"
    return f"dl-vision-labs{extra} @ {url or package_url(cfg)}"


def setup_source(cfg: dict | None = None, url: str | None = None) -> str:
    """The Setup cell: installs the package, and nothing that Colab already has.

    `url` replaces the repository URL (the tests install from the local checkout).
    """
    requirement = install_requirement(cfg, url=url).replace(" @ ", "{extra} @ ", 1)
    return (
        "# Setup: a fresh Colab runtime does not have the course package yet; install the\n"
        "# version these lessons were tested with (Colab's own TensorFlow, Keras, NumPy and\n"
        "# JAX stay as they are).\n"
        "import importlib.util\n"
        "\n"
        "try:\n"
        "    import dl_vision_labs\n"
        "except ModuleNotFoundError:\n"
        f'    extra = "" if importlib.util.find_spec("tensorflow") else "[{NO_TENSORFLOW_EXTRA}]"\n'
        "    if extra:\n"
        "        print(\n"
        f'            "{NO_TENSORFLOW_NOTE}"\n'
        "        )\n"
        f'    %pip install -q "{requirement}"\n'
        "    importlib.invalidate_caches()\n"
        "    import dl_vision_labs\n"
        "dl_vision_labs.backend.choose()  # JAX on a TPU runtime, TensorFlow elsewhere"
    )


def colab_metadata(nb_name: str, cfg: dict | None = None) -> dict:
    """The notebook metadata Colab reads when the notebook is opened from its badge (as in
    the tensorflow/docs tutorials): a GPU runtime, unless `cpu-only` lists the notebook."""
    cfg = cfg or settings()
    meta = {"colab": {"name": nb_name, "provenance": [], "toc_visible": True}}
    if not any(
        nb_name.startswith(f"{n}_") or nb_name == f"{n}.ipynb" for n in cfg.get("cpu-only", [])
    ):
        meta["accelerator"] = "GPU"
        meta["colab"]["gpuType"] = "T4"
    return meta


def apply_colab_metadata(nb, nb_name: str, cfg: dict | None = None) -> None:
    nb.metadata.pop("accelerator", None)
    nb.metadata.update(colab_metadata(nb_name, cfg))


def badges_file_text(paths: list[Path] | None = None, cfg: dict | None = None) -> str:
    """The table of lessons and, side by side, their exercise versions (exercises/)."""
    cfg = cfg or settings()
    lines = [
        "# Open the notebooks in Colab",
        "",
        "Generated by `make sync` (`python -m tools sync`) from `[tool.labs]` in "
        "pyproject.toml; do not edit by hand. The exercise version of a lesson "
        "(`exercises/`, made by `make exercises`) asks the student to write its key "
        "functions and checks them.",
        "",
        "| notebook | lesson | exercises |",
        "|---|---|---|",
    ]
    for p in paths if paths is not None else notebook_paths():
        nb = nbformat.read(p, as_version=4)
        exercise = badge_markdown(p.name, cfg, folder="exercises") if has_holes(nb) else "-"
        lines.append(f"| {title(nb) or p.stem} | {badge_markdown(p.name, cfg)} | {exercise} |")
    return "\n".join(lines) + "\n"


def sync_notebook(path: Path, cfg: dict | None = None) -> bool:
    """Regenerate the badge and Setup cells and strip outputs; True if the file changed."""
    before = path.read_text()
    nb = nbformat.read(path, as_version=4)
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        nb.nbformat_minor = 5
    for cell in nb.cells:
        cell.setdefault("id", nbformat.v4.new_code_cell().id)  # nbformat's random id
    for cell in tagged(nb, "colab-badge"):
        cell.source = badge_markdown(path.name, cfg)
    for cell in tagged(nb, "setup"):
        cell.source = setup_source(cfg)
    _sync_setup_note(nb, path.name, cfg)
    apply_colab_metadata(nb, path.name, cfg)
    clean(nb)
    after = nbformat.writes(nb) + "\n"
    if after != before:
        atomic_write(path, lambda tmp: tmp.write_text(after))
    return after != before


def _sync_setup_note(nb, nb_name: str, cfg: dict | None) -> None:
    """One `setup-note` cell right before the Setup cell (none in the guide, notebook 00)."""
    old = [c for c in nb.cells if SETUP_NOTE in c.metadata.get("tags", [])]
    nb.cells = [c for c in nb.cells if c not in old]
    setup = [i for i, c in enumerate(nb.cells) if "setup" in c.metadata.get("tags", [])]
    if is_guide(nb_name) or len(setup) != 1:
        return
    note = nbformat.v4.new_markdown_cell(setup_note_source(cfg), metadata={"tags": [SETUP_NOTE]})
    if old:
        note.id = old[0].id  # the cell keeps its id: no churn in diffs
    nb.cells.insert(setup[0], note)


def sync_teacher_notebook(path: Path, cfg: dict | None = None) -> bool:
    """A teachers' notebook: its Setup cell regenerated, outputs stripped; True if changed."""
    before = path.read_text()
    nb = nbformat.read(path, as_version=4)
    for cell in tagged(nb, "setup"):
        cell.source = setup_source(cfg)
    clean(nb)
    after = nbformat.writes(nb) + "\n"
    if after != before:
        atomic_write(path, lambda tmp: tmp.write_text(after))
    return after != before


def teacher_problems(path: Path, cfg: dict | None = None) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    setup = tagged(nb, "setup")
    out = []
    if len(setup) != 1 or setup[0].source != setup_source(cfg):
        out.append(f"{path.name}: Setup cell missing or out of date (run `make sync`)")
    clean(nb)
    if path.read_text() != nbformat.writes(nb) + "\n":
        out.append(f"{path.name}: committed with outputs or not in canonical format")
    return out


def problems(path: Path, cfg: dict | None = None) -> list[str]:
    """Everything that makes `path` break the notebook conventions (empty when fine)."""
    out = []
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except (nbformat.ValidationError, ValueError) as err:
        return [f"{path.name}: not valid nbformat ({err})"]
    if not title(nb):
        out.append(f"{path.name}: no '# Title' markdown cell")
    if (nb.nbformat, nb.nbformat_minor) < (4, 5) or not all(c.get("id") for c in nb.cells):
        out.append(f"{path.name}: every cell needs an id (nbformat 4.5; `make sync` adds them)")
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            out.append(f"{path.name}: committed with outputs or execution counts")
            break
    badge = tagged(nb, "colab-badge")
    if len(badge) != 1 or badge[0].source != badge_markdown(path.name, cfg):
        out.append(f"{path.name}: Colab badge cell missing or out of date")
    setup = tagged(nb, "setup")
    if len(setup) != 1 or setup[0].source != setup_source(cfg):
        out.append(f"{path.name}: Setup cell missing or out of date")
    out += [f"{path.name}: {m}" for m in setup_note_problems(nb, path.name, cfg)]
    expected = colab_metadata(path.name, cfg)
    if {k: nb.metadata.get(k) for k in ("accelerator", "colab")} != {
        "accelerator": expected.get("accelerator"),
        "colab": expected["colab"],
    }:
        out.append(f"{path.name}: Colab metadata (accelerator, colab) missing or out of date")
    params = tagged(nb, "parameters")
    if len(params) != 1:
        out.append(f"{path.name}: needs exactly one cell tagged 'parameters'")
    else:
        missing = [p for p in REQUIRED_PARAMETERS if f"{p} =" not in params[0].source]
        if missing:
            out.append(f"{path.name}: parameters cell lacks {', '.join(missing)}")
    if path.read_text() != nbformat.writes(nb) + "\n":
        out.append(f"{path.name}: not in canonical format (run `make sync`)")
    return out


def setup_note_problems(nb, nb_name: str, cfg: dict | None = None) -> list[str]:
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    notes = [i for i, t in enumerate(tags) if SETUP_NOTE in t]
    if is_guide(nb_name):
        heading = f"## {GUIDE_HEADING}"
        has = any(c.cell_type == "markdown" and c.source.startswith(heading) for c in nb.cells)
        out = [] if has else [f"the guide has no section '{heading}' (the others link to it)"]
        return out + ([f"the guide has a '{SETUP_NOTE}' cell"] if notes else [])
    setup = [i for i, t in enumerate(tags) if "setup" in t]
    if len(notes) != 1 or setup != [notes[0] + 1]:
        return [f"needs one '{SETUP_NOTE}' cell right before the Setup cell (run `make sync`)"]
    if nb.cells[notes[0]].source != setup_note_source(cfg):
        return [f"the '{SETUP_NOTE}' cell is out of date (run `make sync`)"]
    return []


def sync() -> list[str]:
    """Rewrite badges, Setup cells and metadata, strip outputs, then colab_badges.md and the
    exercise notebooks; return what changed."""
    cfg = settings()
    changed = [str(p.relative_to(ROOT)) for p in notebook_paths() if sync_notebook(p, cfg)]
    changed += [str(p.relative_to(ROOT)) for p in teacher_paths() if sync_teacher_notebook(p, cfg)]
    text = badges_file_text(cfg=cfg)
    if not BADGES_FILE.is_file() or BADGES_FILE.read_text() != text:
        atomic_write(BADGES_FILE, lambda tmp: tmp.write_text(text))
        changed.append(BADGES_FILE.name)
    return changed + [str(p.relative_to(ROOT)) for p in generate_exercises()]


def check() -> list[str]:
    """Everything out of date in the notebooks, colab_badges.md and exercises/."""
    cfg = settings()
    found = [msg for p in notebook_paths() for msg in problems(p, cfg)]
    found += [msg for p in teacher_paths() for msg in teacher_problems(p, cfg)]
    if not BADGES_FILE.is_file() or BADGES_FILE.read_text() != badges_file_text(cfg=cfg):
        found.append("colab_badges.md is out of date")
    return found + stale() + [m for p in exercise_paths() for m in exercise_problems(p)]


if __name__ == "__main__":  # python -m tools.notebooks [sync]: as python -m tools [sync]
    import sys

    from tools.__main__ import main

    sys.exit(main(sys.argv[1:]))
