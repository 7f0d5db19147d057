"""The package as a new user gets it: `python -m build` makes the sdist and, from it, the wheel; the wheel installed
in a fresh virtual environment serves, started from an empty folder, the graph and pages whose every asset loads.

Slow (a build with `npm ci`, an install, a first start that reasons over every study): .ci/run runs it,
the everyday `pytest` leaves it out.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from conftest import free_port, wait_until_up

from service.shipped_files import DATA_FOLDERS, browser_files

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, as `python -m build` makes them (the wheel is built from the unpacked sdist)."""
    out = tmp_path_factory.mktemp("dist")
    succeed([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], "python -m build", timeout=1200)
    return out


def succeed(args: list[str], what: str, timeout: float) -> None:
    """Run a build or install step; its own output's end is the assertion's message when it fails."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{what} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


def shipped_in_repository() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for folder in DATA_FOLDERS
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_wheel_carries_the_data_the_queries_and_the_browser_code(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {name.removeprefix("service/_shipped/") for name in names if name.startswith("service/_shipped/")}
    expected = shipped_in_repository() | {f"node_modules/{name}" for name in browser_files()}
    assert shipped == expected  # every file of the shipped folders, and of node_modules only what is served
    assert {"ontology/samverkan.ttl", "ontology/shapes.ttl", "data/reference/kommuner.csv"} <= shipped
    package = {  # the package's own files, code and the templates, scripts, queries and YAML it reads
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "service").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert package <= names


def test_the_sdist_holds_what_building_the_wheel_needs(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"setup.py", "pyproject.toml", "package.json", "package-lock.json", "service/shipped_files.py"} <= names
    assert shipped_in_repository() <= names
    assert not [name for name in names if name.startswith(("node_modules", ".cache", "user-queries"))]


def test_building_the_wheel_without_npm_says_what_to_install(dist: Path, tmp_path: Path) -> None:
    """The unpacked sdist has no node_modules; with no npm on the PATH the build stops and says why."""
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (source,) = tmp_path.glob("samverkan_kg-*")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "out"), str(source)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "PATH": str(Path(sys.executable).parent)},
    )
    assert done.returncode != 0 and not list((tmp_path / "out").glob("*.whl"))
    assert "npm is not installed: install Node.js with npm" in done.stdout + done.stderr


@pytest.fixture(scope="session")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed (its dependencies from the configured registry)."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    (wheel,) = dist.glob("*.whl")
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)]
    succeed(pip, "pip install", timeout=1800)
    return folder


@dataclass
class Installed:
    url: str
    cwd: Path  # the empty folder it was started from
    home: Path  # the user's folders (XDG_CACHE_HOME, XDG_DATA_HOME) for this test
    site_packages: Path


@pytest.fixture(scope="session")
def installed(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """`samverkan serve` of the installed package, started from an empty folder with no option but the port."""
    cwd = tmp_path_factory.mktemp("empty")
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "XDG_CACHE_HOME": str(home / "cache"), "XDG_DATA_HOME": str(home / "data")}
    port = free_port()
    log = tmp_path_factory.mktemp("log") / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(venv / "bin" / "samverkan"), "serve", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + "/health", process, log, timeout=900)
        (site_packages,) = (venv / "lib").glob("python*/site-packages")
        yield Installed(url, cwd, home, site_packages)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


class Assets(HTMLParser):
    """The URLs of the scripts, styles and icons a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get("src") if tag == "script" else found.get("href") if tag == "link" else None
        if url and not url.startswith("data:"):
            self.urls.append(url)


def page_assets(url: str) -> list[str]:
    page = requests.get(url, timeout=60)
    assert page.status_code == 200, f"{url}: {page.status_code} {page.text[:300]}"
    parser = Assets()
    parser.feed(page.text)
    return [urljoin(url, asset) for asset in parser.urls]


def test_the_installed_package_serves_pages_whose_every_asset_loads(installed: Installed) -> None:
    pages = ["/", "/queries", "/queries/forms-by-study", "/compare", "/ontology", "/api/docs"]
    assets = {asset for path in pages for asset in page_assets(installed.url + path)}
    loaded = {asset: requests.get(asset, timeout=60) for asset in assets}
    assert {asset: answer.status_code for asset, answer in loaded.items() if answer.status_code != 200} == {}
    paths = {urlsplit(asset).path for asset in assets}
    assert {"/assets/yasgui.min.js", "/assets/yasgui.min.css", "/assets/chart.umd.min.js"} <= paths
    assert {"/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css"} <= paths
    assert all(urlsplit(asset).netloc == urlsplit(installed.url).netloc for asset in assets)


def test_the_installed_package_serves_the_shipped_graph_and_saved_queries(installed: Installed) -> None:
    studies = requests.get(installed.url + "/api/queries/studies", params={"format": "csv"}, timeout=60)
    assert studies.status_code == 200
    assert "samverkan-som-strategi" in studies.text and "fiktiv-krisberedskap-2021" in studies.text
    answer = requests.get(
        installed.url + "/api/queries/municipalities", params={"lan": "Västmanland", "format": "csv"}, timeout=60
    )
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 10 and "Västerås" in {row["name"] for row in rows}  # Västmanlands län's ten kommuner
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?m a <https://w3id.org/samverkan/ontology#Municipality> }"
    found = requests.get(installed.url + "/sparql", params={"query": count}, headers={"Accept": "text/csv"}, timeout=60)
    assert found.text.split() == ["n", "290"]


def test_the_installed_package_writes_only_to_the_users_folders(installed: Installed) -> None:
    """The build cache goes to the user's cache folder; nothing is written where it was started or installed."""
    assert list(installed.cwd.iterdir()) == []
    assert list((installed.home / "cache" / "samverkan-kg" / "builds").glob("*.nq"))
    (record,) = installed.site_packages.glob("samverkan_kg-*.dist-info/RECORD")
    listed = {line.split(",")[0] for line in record.read_text().splitlines()}
    package = installed.site_packages / "service"
    written = [
        path.relative_to(installed.site_packages).as_posix()
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert [path for path in written if path not in listed] == []
    assert not (installed.site_packages / ".cache").exists()
