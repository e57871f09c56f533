"""Keep the notebooks, colab_badges.md and exercises/ consistent with the repository settings.

    python -m tools.notebooks sync    # rewrite badges, Setup cells, strip outputs; exercises/
    python -m tools.notebooks check   # list what is out of date (exit 1 if anything)

The repository, branch and pinned ref are configured once, in ``pyproject.toml``
under ``[tool.labs]``. From them this script generates, in every notebook, the
cell tagged ``colab-badge`` (Open in Colab / GitHub links), the cell tagged
``setup`` (installs the package's pinned commit on a fresh Colab runtime, plus
tensorflow-cpu where TensorFlow is missing) and the Colab metadata (a GPU runtime
unless ``cpu-only``), and the file ``colab_badges.md`` listing every notebook.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import nbformat
from nbstripout import strip_output

from dl_vision_labs.files import atomic_write

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BADGES_FILE = ROOT / "colab_badges.md"
REQUIRED_PARAMETERS = ("EPOCHS", "BATCH_SIZE", "SEED", "SMOKE")
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


def settings() -> dict:
    """``[tool.labs]`` from pyproject.toml: repository ("owner/name"), branch (what the badges
    open), ref (the commit of main the Setup cells install, see tools/pin.py) and cpu-only
    (notebooks that need no GPU)."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["labs"]


def colab_url(nb_name: str, cfg: dict | None = None, folder: str = "notebooks") -> str:
    cfg = cfg or settings()
    return (f"https://colab.research.google.com/github/{cfg['repository']}/blob/"
            f"{cfg['branch']}/{folder}/{nb_name}")


def github_url(nb_name: str, cfg: dict | None = None, folder: str = "notebooks") -> str:
    cfg = cfg or settings()
    return f"https://github.com/{cfg['repository']}/blob/{cfg['branch']}/{folder}/{nb_name}"


def badge_markdown(nb_name: str, cfg: dict | None = None, folder: str = "notebooks") -> str:
    """The Open-in-Colab badge of a lesson (`folder` "notebooks") or its exercise copy
    ("exercises", written by tools/exercises.py)."""
    return (f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(nb_name, cfg, folder)}) "
            f"[View source on GitHub]({github_url(nb_name, cfg, folder)})")


def package_url(cfg: dict | None = None) -> str:
    """Where the Setup cell installs the package from: the repository at the pinned `ref`
    (a commit of main, see tools/pin.py; the branch only when no ref is configured)."""
    cfg = cfg or settings()
    return f"git+https://github.com/{cfg['repository']}@{cfg.get('ref') or cfg['branch']}"


# The extra that the Setup cell adds on a runtime without TensorFlow (Colab's TPU
# runtime): tensorflow-cpu, for tf.data and tensorflow_datasets (requirements-tpu.txt).
NO_TENSORFLOW_EXTRA = "tpu"
NO_TENSORFLOW_NOTE = ("No TensorFlow on this runtime (Colab TPU): also installing tensorflow-cpu "
                      "for tf.data (about 1.3 GB, a minute or two).")


def install_requirement(cfg: dict | None = None, *, tensorflow: bool = True,
                        url: str | None = None) -> str:
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
        "try:\n"
        "    import dl_vision_labs\n"
        "except ModuleNotFoundError:\n"
        f'    extra = "" if importlib.util.find_spec("tensorflow") else "[{NO_TENSORFLOW_EXTRA}]"\n'
        "    if extra:\n"
        f'        print("{NO_TENSORFLOW_NOTE}")\n'
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
    if not any(nb_name.startswith(f"{n}_") or nb_name == f"{n}.ipynb"
               for n in cfg.get("cpu-only", [])):
        meta["accelerator"] = "GPU"
        meta["colab"]["gpuType"] = "T4"
    return meta


def apply_colab_metadata(nb, nb_name: str, cfg: dict | None = None) -> None:
    nb.metadata.pop("accelerator", None)
    nb.metadata.update(colab_metadata(nb_name, cfg))


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return cell.source.lstrip()[2:].splitlines()[0].strip()
    return ""


def badges_file_text(paths: list[Path] | None = None, cfg: dict | None = None) -> str:
    """The table of lessons and, side by side, their exercise versions (exercises/)."""
    from tools.exercises import has_holes

    cfg = cfg or settings()
    lines = ["# Open the notebooks in Colab", "",
             "Generated by `python -m tools.notebooks sync` from `[tool.labs]` in "
             "pyproject.toml; do not edit by hand. The exercise version of a lesson "
             "(`exercises/`, made by `make exercises`) asks the student to write its key "
             "functions and checks them.", "",
             "| notebook | lesson | exercises |", "|---|---|---|"]
    for p in paths if paths is not None else notebook_paths():
        nb = nbformat.read(p, as_version=4)
        exercise = badge_markdown(p.name, cfg, folder="exercises") if has_holes(nb) else "-"
        lines.append(f"| {title(nb) or p.stem} | {badge_markdown(p.name, cfg)} | {exercise} |")
    return "\n".join(lines) + "\n"


def tagged(nb, tag: str) -> list:
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


# Run-time metadata that papermill, nbclient, jupytext and widgets leave behind.
RUN_TIME_METADATA = ("cell.metadata.execution", "cell.metadata.papermill",
                     "metadata.papermill", "metadata.widgets", "metadata.jupytext")


def clean(nb) -> None:
    """Strip outputs, execution counts and run-time metadata (with nbstripout); keep cell ids."""
    strip_output(nb, keep_output=False, keep_count=False, keep_id=True,
                 extra_keys=list(RUN_TIME_METADATA), strip_init_cells=True)


def sync_notebook(path: Path, cfg: dict | None = None) -> bool:
    """Regenerate the badge and Setup cells and strip outputs; True if the file changed."""
    before = path.read_text()
    nb = nbformat.read(path, as_version=4)
    for cell in tagged(nb, "colab-badge"):
        cell.source = badge_markdown(path.name, cfg)
    for cell in tagged(nb, "setup"):
        cell.source = setup_source(cfg)
    apply_colab_metadata(nb, path.name, cfg)
    clean(nb)
    after = nbformat.writes(nb) + "\n"
    if after != before:
        atomic_write(path, lambda tmp: tmp.write_text(after))
    return after != before


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
    expected = colab_metadata(path.name, cfg)
    if ({k: nb.metadata.get(k) for k in ("accelerator", "colab")}
            != {"accelerator": expected.get("accelerator"), "colab": expected["colab"]}):
        out.append(f"{path.name}: Colab metadata (accelerator, colab) missing or out of date")
    params = tagged(nb, "parameters")
    if len(params) != 1:
        out.append(f"{path.name}: needs exactly one cell tagged 'parameters'")
    else:
        missing = [p for p in REQUIRED_PARAMETERS if f"{p} =" not in params[0].source]
        if missing:
            out.append(f"{path.name}: parameters cell lacks {', '.join(missing)}")
    if path.read_text() != nbformat.writes(nb) + "\n":
        out.append(f"{path.name}: not in canonical format (run `python -m tools.notebooks sync`)")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else "check"
    cfg = settings()
    if command == "sync":
        for p in notebook_paths():
            if sync_notebook(p, cfg):
                print(f"updated {p.relative_to(ROOT)}")
        text = badges_file_text(cfg=cfg)
        if not BADGES_FILE.is_file() or BADGES_FILE.read_text() != text:
            BADGES_FILE.write_text(text)
            print(f"updated {BADGES_FILE.name}")
        from tools import exercises  # the exercise notebooks follow the synced lessons
        for path in exercises.generate():
            print(f"updated {path.relative_to(ROOT)}")
        return 0
    if command == "check":
        from tools import exercises

        found = [msg for p in notebook_paths() for msg in problems(p, cfg)]
        if not BADGES_FILE.is_file() or BADGES_FILE.read_text() != badges_file_text(cfg=cfg):
            found.append("colab_badges.md is out of date")
        found += exercises.stale() + [m for p in exercises.exercise_paths()
                                      for m in exercises.problems(p)]
        print("\n".join(found) or "all notebooks follow the conventions")
        return 1 if found else 0
    raise SystemExit(f"unknown command {command!r}: use 'sync' or 'check'")


if __name__ == "__main__":
    sys.exit(main())
