"""A plain ``pip install .`` runs the platform: nothing in src/ needs a package of the dev extras.

The check runs in a fresh interpreter in which every module that only the ``dev`` extras
provide refuses to import, the way it would be missing after ``pip install .``; then it
imports every module of the package and renders pages that load the heaviest of them. The
list of what to refuse is read from pyproject.toml, so a dependency moved between the two
lists is followed without touching this test. CI also installs the package for real in a
fresh virtual environment and starts the server (.ci/plain-install).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    return _normalise(re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0])


def dev_only_modules() -> list[str]:
    """Top-level import names provided only by distributions of the dev extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {_requirement_name(s) for s in project["dependencies"]}
    dev = {_requirement_name(s) for s in project["optional-dependencies"]["dev"]} - runtime
    blocked = []
    for module, distributions in packages_distributions().items():
        names = {_normalise(d) for d in distributions}
        if names and names <= dev:
            blocked.append(module)
    return sorted(blocked)


CHILD = r"""
import importlib, importlib.abc, json, os, pkgutil, sys, tempfile

BLOCKED = set(json.loads(sys.argv[1]))


class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (dev extras are not installed)")
        return None


sys.meta_path.insert(0, Missing())
os.environ["JIAOGUAN_DATA_DIR"] = tempfile.mkdtemp()
os.environ["DJANGO_SETTINGS_MODULE"] = "jiaoguan.settings"
os.environ.pop("DATABASE_URL", None)
import django

django.setup()
import jiaoguan

failed = {}
for module in pkgutil.walk_packages(jiaoguan.__path__, "jiaoguan."):
    if module.name == "jiaoguan.wsgi":
        continue  # starting the server (it checks the signing key against the database): CI does that
    try:
        importlib.import_module(module.name)
    except Exception as exc:
        failed[module.name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"failed": failed, "blocked_loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)}))
"""


def test_every_module_imports_without_the_dev_extras():
    blocked = dev_only_modules()
    assert {"pytest", "hypothesis", "playwright"} <= set(blocked)  # the list really holds the dev extras
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(blocked)],
        capture_output=True, text=True, cwd=ROOT, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["failed"] == {}, result["failed"]
    assert result["blocked_loaded"] == []


def test_pdf_libraries_used_at_runtime_are_runtime_dependencies():
    """Accident documents stamp and read PDFs on every download: pypdf and pypdfium2 ship with the platform."""
    assert {"pypdf", "pypdfium2"}.isdisjoint(dev_only_modules())
