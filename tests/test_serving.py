"""Production serving: several HTTP worker processes over one on-disk store, and loads while serving."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import Server, samverkan, start_samverkan

GRAPH = "http://example.org/graph/loaded-while-serving"
COUNT = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("served") / "store"


@pytest.fixture(scope="module")
def server(store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_samverkan(tmp_path_factory.mktemp("served-log"), "--store", str(store_path), "--workers", "2")
    yield server
    server.stop()


def write_triples(path: Path, n: int) -> Path:
    lines = [f"<http://example.org/s{i}> <http://example.org/p> <http://example.org/o{i % 97}> ." for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def load(store_path: Path, file: Path) -> None:
    result = subprocess.run(
        samverkan("import", str(file), "--graph", GRAPH, "--store", str(store_path)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def count(server: Server) -> int:
    response = requests.get(server.url + "/sparql", params={"query": COUNT}, timeout=60)
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_a_load_while_serving_is_seen_by_every_worker_without_a_restart(
    server: Server, store_path: Path, tmp_path: Path
) -> None:
    assert count(server) == 0
    load(store_path, write_triples(tmp_path / "small.nt", 100))
    # Both HTTP workers (and their query workers) answer; each must see the new graph.
    assert {count(server) for _ in range(20)} == {100}


def test_readers_never_see_half_a_load(server: Server, store_path: Path, tmp_path: Path) -> None:
    load(store_path, write_triples(tmp_path / "before.nt", 5_000))
    seen: set[int] = set()
    errors: list[str] = []
    loading = threading.Event()

    def read() -> None:
        while loading.is_set():
            try:
                seen.add(count(server))
            except AssertionError as error:
                errors.append(str(error))

    loading.set()
    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    load(store_path, write_triples(tmp_path / "after.nt", 30_000))
    for _ in range(20):
        seen.add(count(server))
    loading.clear()
    for reader in readers:
        reader.join()
    assert not errors
    assert seen <= {5_000, 30_000}, f"a reader saw a partial load: {sorted(seen)}"
    assert 30_000 in seen
