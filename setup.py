"""The one build step pyproject.toml cannot declare: a wheel carries the ontology, the data, the saved queries and
the browser code (YASGUI, Chart.js, Swagger UI), so an installed package serves everything with no repository
beside it. service/shipped_files.py names the files and is where the service looks for them.

The browser code comes from package-lock.json: `npm ci` runs when node_modules/ lacks a file (as in a fresh
checkout or an unpacked sdist). It is never committed and never loaded from a CDN. An editable install reads
everything from the checkout, so it copies nothing.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def shipped_files() -> ModuleType:
    """service/shipped_files.py, read without importing the package (its dependencies are not installed here)."""
    spec = importlib.util.spec_from_file_location("shipped_files", HERE / "service" / "shipped_files.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def install_browser_files(names: list[str]) -> None:
    """node_modules/ from package-lock.json, unless it already has every file the wheel carries."""
    if all((HERE / "node_modules" / name).is_file() for name in names):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "Building the wheel needs the browser code (YASGUI, Chart.js, Swagger UI) from package-lock.json, "
            "and npm is not installed: install Node.js with npm (e.g. `apt-get install npm`) and build again."
        )
    print("running npm ci: the browser code the wheel carries, from package-lock.json")
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=False)
    missing = [name for name in names if not (HERE / "node_modules" / name).is_file()]
    if done.returncode or missing:
        raise SystemExit(f"`npm ci` in {HERE} did not install {', '.join(missing) or 'the browser code'}.")


class BuildWithShippedFiles(build_py):
    """build_py, then copies of the shipped folders and browser files into service/_shipped/ of the build."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        shipped = shipped_files()
        names = shipped.browser_files()
        install_browser_files(names)
        target = Path(self.build_lib) / "service" / shipped.IN_PACKAGE.name
        shutil.rmtree(target, ignore_errors=True)
        for folder in shipped.DATA_FOLDERS:
            shutil.copytree(HERE / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name in names:
            (target / "node_modules" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(HERE / "node_modules" / name, target / "node_modules" / name)


setup(cmdclass={"build_py": BuildWithShippedFiles})
