"""The course on Colab's own package sets (colab/constraints-{gpu,tpu}.txt).

The tests marked `colab` (`make test-colab`; not part of `make test`) take a cached
Python 3.13 environment per set (`tools/colab.py`), copy it, run the notebooks' real
Setup cell in it (with the repository URL pointed at this checkout, or at
``$LABS_PACKAGE_URL``), then every notebook in smoke mode: the GPU set on the
TensorFlow backend, the TPU set (no TensorFlow before the Setup cell) on JAX.
The other tests here are quick checks of the configuration, part of `make test`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from unittest import mock

import nbformat
import pytest

from dl_vision_labs import environment
from tools import colab, notebooks, runner

ROOT = Path(__file__).resolve().parents[1]
BACKEND = {"gpu": "tensorflow", "tpu": "jax"}
NOTEBOOKS = notebooks.notebook_paths()


# --- configuration (quick) ------------------------------------------------------------


def test_setup_cell_installs_a_pinned_commit_not_a_branch_or_tag():
    cfg = notebooks.settings()
    ref = cfg.get("ref")
    assert re.fullmatch(r"[0-9a-f]{40}", ref or ""), (
        f"[tool.labs] ref {ref!r}: a full commit hash on main (tags are not published); "
        "run `make sync`"
    )
    source = notebooks.setup_source(cfg)
    assert f'@ git+https://github.com/{cfg["repository"]}@{ref}"' in source
    assert (
        notebooks.package_url({"repository": "a/b", "branch": "dev", "ref": "c0ffee"})
        == "git+https://github.com/a/b@c0ffee"
    )


def test_setup_cell_adds_tensorflow_cpu_only_where_tensorflow_is_missing():
    cfg = {"repository": "a/b", "branch": "main", "ref": "v1"}
    assert notebooks.install_requirement(cfg) == "dl-vision-labs @ git+https://github.com/a/b@v1"
    assert (
        notebooks.install_requirement(cfg, tensorflow=False, url="file:///x")
        == "dl-vision-labs[tpu] @ file:///x"
    )
    source = notebooks.setup_source(cfg)
    assert '%pip install -q "dl-vision-labs{extra} @ git+https://github.com/a/b@v1"' in source
    assert source.count("print(") == 1 and notebooks.NO_TENSORFLOW_NOTE in source
    assert 'find_spec("tensorflow")' in source
    # The package itself never requires the full TensorFlow (Colab's TPU runtime has none).
    requirements = (ROOT / "requirements.txt").read_text()
    assert not re.search(r"^tensorflow\b(?!-datasets)", requirements, re.M)
    tpu = (ROOT / "requirements-tpu.txt").read_text()
    assert re.search(r"^tensorflow-cpu==\d", tpu, re.M), "pin the tested tensorflow-cpu release"


def test_notebooks_ask_colab_for_a_gpu_unless_they_need_none():
    cpu_only = notebooks.settings().get("cpu-only", [])
    for path in NOTEBOOKS:
        meta = nbformat.read(path, as_version=4).metadata
        assert meta["colab"]["name"] == path.name
        if any(path.name.startswith(f"{n}_") for n in cpu_only):
            assert "accelerator" not in meta, path.name
        else:
            assert meta["accelerator"] == "GPU" and meta["colab"]["gpuType"] == "T4", path.name


def test_constraint_files_name_their_source_and_date():
    for name in colab.SETS:
        text = colab.constraints_file(name).read_text()
        assert re.search(r"^# Source: .*backend-info", text, re.M)
        assert re.search(r"^# Date: \d{4}-\d{2}-\d{2}$", text, re.M)
        assert colab.python_version(name) == "3.13"
    gpu, tpu = colab.pins("gpu"), colab.pins("tpu")
    assert gpu["tensorflow"] and "tensorflow" not in tpu and "tensorflow-cpu" not in tpu
    for pkg in ("keras", "numpy", "jax", "protobuf", "ipykernel", "ipython"):
        assert pkg in gpu and pkg in tpu


def test_refresh_keeps_the_pins_and_leaves_out_url_installs(tmp_path):
    freeze = (
        "# generated\nkeras==3.13.2\nnumpy==2.1.3\n"
        "google-colab @ file:///colabtools/dist/google_colab-1.0.0.tar.gz\n"
    )
    text = colab.constraints_text("tpu", freeze, "somewhere", "2026-01-02", "3.13")
    lines = text.splitlines()
    assert "keras==3.13.2" in lines and "numpy==2.1.3" in lines
    assert "# Date: 2026-01-02" in lines and "# Python: 3.13" in lines
    assert not any(line.startswith("google-colab") for line in lines)
    assert "google-colab" in text  # named in the header's "Left out" line


def test_report_counts_a_single_tpu_chip(monkeypatch):
    """Colab's v5e-1 / v6e-1 runtimes: JAX sees one TPU device, the report says one TPU."""
    jax = pytest.importorskip("jax")
    from dl_vision_labs import runtime

    class Chip:
        platform = "tpu"
        device_kind = "TPU v5 lite"

        def memory_stats(self):
            return {"bytes_limit": 16 * 2**30}

    monkeypatch.setattr(jax, "devices", lambda *a: [Chip()])
    rt = runtime._jax_runtime()
    assert (rt.accelerator, rt.replicas, rt.distribution) == ("TPU", 1, None)
    report = rt.report()
    assert "Accelerator : TPU (1 device)\n" in report
    assert "  device    : TPU v5 lite, 16.0 GiB memory" in report
    assert "Distribution" not in report and "per device" not in report


# --- on Colab's package sets (slow; `make test-colab`) ---------------------------------


def package_url() -> str:
    """``$LABS_PACKAGE_URL``, else this checkout: its HEAD commit when nothing tracked is
    modified (a clean clone, as in CI), else the working folder as it is."""
    if os.environ.get(environment.PACKAGE_URL):
        return os.environ[environment.PACKAGE_URL]
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not dirty:
            head = subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            return f"git+file://{ROOT}@{head}"
    return ROOT.as_uri()


@contextlib.contextmanager
def kernel_env(env: Path, backend: str):
    """Environment of a kernel in `env`: its kernel spec found, Keras on `backend`."""
    with mock.patch.dict(
        os.environ, {"JUPYTER_PATH": str(env / "share" / "jupyter"), "KERAS_BACKEND": backend}
    ):
        yield


def run_dir(name: str) -> Path:
    """This test run's copy of the set's environment (shared by pytest-xdist workers)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
    return colab.cache_root() / "runs" / f"{name}-{run}"


@functools.cache
def prepared(name: str) -> dict:
    """Copy the set's environment and run the notebooks' Setup cell in it, once per test
    run (other pytest-xdist workers wait, then reuse it); return what the install did."""
    run = run_dir(name)
    with colab.locked(run.with_name(run.name + ".lock")):
        record_file = run / "setup-cell.json"
        if record_file.is_file():
            return json.loads(record_file.read_text())
        build = colab.build(name)
        for old in run.parent.glob(f"{name}-*"):  # copies left by earlier runs
            if old.is_dir() and old != run and time.time() - old.stat().st_mtime > 2 * 3600:
                shutil.rmtree(old, ignore_errors=True)
        colab.copy_env(name, run)
        before, size_before = colab.installed(run), colab.du_mb(run)
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(notebooks.setup_source(url=package_url()))]
        )
        start = time.perf_counter()
        with kernel_env(run, BACKEND[name]):
            from nbclient import NotebookClient

            NotebookClient(
                nb,
                kernel_name=colab.kernel_name(name),
                timeout=1200,
                resources={"metadata": {"path": str(run)}},
            ).execute()
        seconds = time.perf_counter() - start
        after = colab.installed(run)
        output = "".join(o.get("text", "") for o in nb.cells[0].outputs)
        record = {
            "set": name,
            "url": package_url(),
            "seconds": round(seconds, 1),
            "added_mb": round(colab.du_mb(run) - size_before, 1),
            "output": output,
            "added": sorted(f"{k}=={v}" for k, v in after.items() if k not in before),
            "changed": sorted(
                f"{k}: {before[k]} -> {v}"
                for k, v in after.items()
                if k in before and before[k] != v
            ),
            "env_build_seconds": build["seconds"],
            "env_mb": build["size_mb"],
        }
        record_file.write_text(json.dumps(record, indent=1))
        print(
            f"{name}: Setup cell installed in {seconds:.0f} s, {record['added_mb']:.0f} MB: "
            f"{', '.join(record['added'])}"
        )
        return record


@pytest.mark.colab
@pytest.mark.parametrize("name", colab.SETS)
def test_setup_install_replaces_nothing_colab_ships(name):
    """pip's own plan (``--dry-run --report``) for the Setup cell's install, in an environment
    holding exactly Colab's packages: nothing protected may change."""
    colab.build(name)
    env = colab.env_dir(name)
    requirement = notebooks.install_requirement(tensorflow=name == "gpu", url=package_url())
    proc = subprocess.run(
        [
            str(env / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--report",
            "-",
            "--disable-pip-version-check",
            requirement,
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    plan = {
        colab.normalise(i["metadata"]["name"]): i["metadata"]["version"] for i in report["install"]
    }
    pins = colab.pins(name)
    changed = {p: f"{pins[p]} -> {v}" for p, v in plan.items() if p in pins and pins[p] != v}
    print(f"{name}: pip would install {plan}")
    assert not {p: c for p, c in changed.items() if p in colab.PROTECTED}, changed
    assert "tensorflow" not in plan, "the install pulls the full TensorFlow"
    if name == "tpu":
        assert plan.get("tensorflow-cpu"), "a runtime without TensorFlow gets tensorflow-cpu"
    else:
        assert "tensorflow-cpu" not in plan


@pytest.mark.colab
@pytest.mark.parametrize("name", colab.SETS)
def test_setup_cell_installs_only_what_is_missing(name):
    record = prepared(name)
    assert not [c for c in record["changed"] if c.split(":")[0] in colab.PROTECTED], record
    assert any(a.startswith("dl-vision-labs==") for a in record["added"]), record
    if name == "tpu":
        assert notebooks.NO_TENSORFLOW_NOTE in record["output"]
        assert any(a.startswith("tensorflow-cpu==") for a in record["added"])
    else:
        assert notebooks.NO_TENSORFLOW_NOTE not in record["output"]
    assert f"Keras backend: {BACKEND[name]}" in record["output"]


@pytest.mark.colab
@pytest.mark.notebook
@pytest.mark.parametrize("name", colab.SETS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_colab_set(name, path, tmp_path, shared_data, monkeypatch):
    """Every notebook in smoke mode on the set (the TPU set on JAX), after the Setup cell."""
    prepared(name)
    monkeypatch.setenv(environment.DATA_DIR, str(shared_data))
    backend = BACKEND[name]
    with kernel_env(run_dir(name), backend):
        result = runner.run_notebook(
            path, tmp_path, {"SMOKE": True}, backend=backend, kernel_name=colab.kernel_name(name)
        )
    print(f"{name} {path.stem}: {result.seconds:.0f} s")
    assert result.error is None, result.error
    assert result.metrics, "the notebook recorded no metric"
    ran, printed = runner.executed_output(tmp_path / path.name)
    assert ran, "a code cell did not run"
    assert f"Keras backend: {backend}" in printed
    assert "Python      : 3.13" in printed
