"""Live servers for the tests: our service as a real process on 127.0.0.1, and a real Oxigraph server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except (requests.ConnectionError, requests.Timeout):  # gunicorn listens before its worker is ready
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server at {url} did not come up in {timeout} s:\n{log.read_text()}")


class Server:
    """A process serving HTTP on 127.0.0.1, stopped when the test session ends."""

    def __init__(self, args: list[str], port: int, log: Path, health_path: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        wait_until_up(self.url + health_path, self.process, log)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def samverkan(*args: str) -> list[str]:
    return [sys.executable, "-m", "service.cli", *args]


def start_samverkan(tmp: Path, *args: str) -> Server:
    port = free_port()
    return Server(samverkan("serve", "--port", str(port), *args), port, tmp / f"samverkan-{port}.log", "/health")


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_samverkan(tmp_path_factory.mktemp("embedded"))
    yield server
    server.stop()


def start_oxigraph(tmp: Path, *options: str) -> Server:
    """A real `oxigraph serve` (PyPI package oxigraph) on a fresh on-disk store."""
    binary = shutil.which("oxigraph", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    assert binary, "the oxigraph server is installed with the test extras (pip install -e '.[test]')"
    port = free_port()
    args = [binary, "serve", "--location", str(tmp / "db"), "--bind", f"127.0.0.1:{port}", *options]
    return Server(args, port, tmp / "oxigraph.log", "/query?query=ASK%7B%7D")


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Oxigraph's server configured as it comes."""
    server = start_oxigraph(tmp_path_factory.mktemp("oxigraph"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def remote_server(oxigraph_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Our service in front of the Oxigraph server, having loaded the shipped data into it."""
    server = start_samverkan(
        tmp_path_factory.mktemp("remote"),
        "--query-url",
        oxigraph_server.url + "/query",
        "--update-url",
        oxigraph_server.url + "/update",
    )
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["embedded", "remote-oxigraph"])
def endpoint(request: pytest.FixtureRequest) -> str:
    """The /sparql URL of our service, on the embedded store and on a remote Oxigraph server."""
    fixture = "embedded_server" if request.param == "embedded" else "remote_server"
    server: Server = request.getfixturevalue(fixture)
    return server.url + "/sparql"
