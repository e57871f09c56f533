"""Each setting shared by the runner, the notebooks and the tests is defined once."""

import re
from pathlib import Path

import tomllib

import dl_vision_labs
from dl_vision_labs import environment

ROOT = Path(__file__).resolve().parents[1]


def test_every_labs_variable_is_named_only_in_the_environment_module():
    names = {v for k, v in vars(environment).items() if k.isupper()}
    assert all(re.fullmatch(r"LABS_[A-Z_]+", n) for n in names) and len(names) >= 8
    found = []
    for folder in ("dl_vision_labs", "tools", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "environment.py" or path == Path(__file__):
                continue
            for i, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"""["']LABS_[A-Z_]+["']""", line):
                    found.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not found, "use dl_vision_labs.environment instead of:\n" + "\n".join(found)


def test_each_variable_says_who_sets_it_and_who_reads_it():
    source = (ROOT / "dl_vision_labs" / "environment.py").read_text()
    for name in (k for k in vars(environment) if k.isupper()):
        doc = " ".join(source.split(f"{name} = ", 1)[1].split('"""')[1].split())
        assert "Set by" in doc and "Read by" in doc, name


def test_the_version_has_one_source_pyproject():
    with open(ROOT / "pyproject.toml", "rb") as f:
        version = tomllib.load(f)["project"]["version"]
    assert dl_vision_labs.__version__ == version
    assert not re.search(
        r"__version__ = \"\d", (ROOT / "dl_vision_labs" / "__init__.py").read_text()
    )
