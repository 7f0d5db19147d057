"""The service for the tests: in this process (`app`, `client`, `in_process`) wherever a server process adds
nothing, and as a real process on 127.0.0.1 (`start_samverkan`) for what needs one: gunicorn workers, time limits
under gunicorn, the load test. Real Oxigraph and Virtuoso servers stand in for remote SPARQL stores.

`client` speaks requests' API, so a test reads as it did against a live server, but its requests reach the
application without a socket. The same application is also served on 127.0.0.1 by a thread of this process, for
clients that need a real URL (SPARQLWrapper, rdflib, the browser, schemathesis).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPMessage
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest
import requests
from flask import Flask
from requests.adapters import BaseAdapter
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

from service.cli import serve
from service.config import Config
from service.http import create_app
from service.store import Store

ROOT = Path(__file__).resolve().parents[1]
SERVER_OPTIONS = {"host", "port", "workers", "threads"}  # how `serve` listens; every other option is a setting


class _Raw:
    """What requests reads a response's Set-Cookie headers from (http.client's response, over a socket)."""

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.msg = HTTPMessage()
        for name, value in headers:
            self.msg[name] = value
        self._original_response = self


class InProcess(BaseAdapter):
    """A requests transport that hands each prepared request to a WSGI application and reads back its answer."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = urlsplit(request.url or "")
        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        environ = EnvironBuilder(
            path=url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method or "GET",
            headers=list(request.headers.items()),
            data=body,
        ).get_environ()
        chunks, status, headers = run_wsgi_app(self.app, environ, buffered=True)  # read whole, and closed
        code, _, reason = status.partition(" ")
        response = requests.Response()
        response.status_code = int(code)
        response.reason = reason
        merged: dict[str, str] = {}
        for name, value in headers.to_wsgi_list():  # repeated headers joined, as urllib3 does
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
        response.headers = CaseInsensitiveDict(merged)
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = b"".join(chunks)
        response._content_consumed = True
        response.url = request.url or ""
        response.request = request
        response.raw = _Raw(headers.to_wsgi_list())
        extract_cookies_to_jar(response.cookies, request, response.raw)
        return response

    def close(self) -> None:
        pass


class Client(requests.Session):
    """requests' API on one application of ours, answered in this process with no socket in between.

    Like `requests.get` and its kin it keeps no cookie from one request to the next (`session()` does). The
    application is also served at `url` (127.0.0.1, by a thread of this process) for clients that need a real
    URL; `log` holds what the service logged (when it was opened by `in_process`).
    """

    def __init__(self, app: Flask, log: Path | None = None) -> None:
        super().__init__()
        self.app = app
        self.log = log
        self.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.mount(self.url + "/", InProcess(app))
        threading.Thread(target=self._server.serve_forever, name=f"samverkan-{self.port}", daemon=True).start()

    def session(self) -> requests.Session:
        """A session on the same application, in this process, that keeps cookies as a browser would."""
        session = requests.Session()
        session.mount(self.url + "/", InProcess(self.app))
        return session

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.close()


@contextmanager
def in_process(tmp: Path, **settings: Any) -> Iterator[Client]:
    """A fresh application of ours on `Config(**settings)`; what the service logs goes to tmp/samverkan.log."""
    log = tmp / "samverkan.log"
    handler = logging.FileHandler(log, encoding="utf-8")
    logging.getLogger("service").addHandler(handler)
    try:
        client = Client(create_app(Config(**settings)), log)
        try:
            yield client
        finally:
            client.stop()
    finally:
        logging.getLogger("service").removeHandler(handler)
        handler.close()


def serve_settings(*args: str) -> dict[str, Any]:
    """The settings `samverkan serve ARGS` would start with, read from its options and environment variables."""
    params = serve.make_context("serve", list(args)).params
    return {name: value for name, value in params.items() if value is not None and name not in SERVER_OPTIONS}


@pytest.fixture(scope="session")
def app() -> Flask:
    """The service on the shipped data (ontology, reference lists, the seed study and the fictional examples), in
    this process, built once: the tests that use it only read. Studies come from the build cache (.cache/builds)."""
    return create_app(Config())


@pytest.fixture(scope="session")
def client(app: Flask) -> Iterator[Client]:
    served = Client(app)
    yield served
    served.stop()


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


def replace_graphs(store: Store, graphs: dict[str, list[ox.Triple]], then: str) -> None:
    """Replace the graphs with these triples and apply `then`, as one replace of the store's bulk path."""
    with store.replacing(graphs) as replacement:
        for graph, triples in graphs.items():
            replacement.put(graph, triples)
        replacement.then(then)


def samverkan(*args: str) -> list[str]:
    return [sys.executable, "-m", "service.cli", *args]


def start_samverkan(tmp: Path, *args: str) -> Server:
    port = free_port()
    return Server(samverkan("serve", "--port", str(port), *args), port, tmp / f"samverkan-{port}.log", "/health")


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
def remote_client(oxigraph_server: Server) -> Iterator[Client]:
    """The service in this process in front of the Oxigraph server, having loaded the shipped data into it."""
    config = Config(query_url=oxigraph_server.url + "/query", update_url=oxigraph_server.url + "/update")
    served = Client(create_app(config))
    yield served
    served.stop()


@pytest.fixture(scope="session", params=["embedded", "remote-oxigraph"])
def each_store(request: pytest.FixtureRequest) -> Client:
    """The service on the embedded store, and in front of an Oxigraph server."""
    served: Client = request.getfixturevalue("client" if request.param == "embedded" else "remote_client")
    return served
