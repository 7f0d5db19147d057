"""Answers are cached while the data is unchanged: an ETag on every answer, 304 for a current copy, a bounded
result cache shared by /sparql and the saved-query API, and a load (or an update) that makes answers fresh."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import Client, in_process, samverkan

TOKEN = "cache-test-token"
GRAPH = "http://example.org/graph/cached"


def count_query(tag: str) -> str:
    """The number of triples in GRAPH; the tag keeps each test's query (and so its cache entry) its own."""
    return f"# {tag}\nSELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cached") / "store"


@pytest.fixture(scope="module")
def server(store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with in_process(
        tmp_path_factory.mktemp("cached-log"),
        store_path=str(store_path),
        load_shipped_data=False,
        update_token=TOKEN,
        query_workers=1,
        result_cache_mb=1,
    ) as server:
        yield server


def get(server: Client, query: str, headers: dict[str, str] | None = None, **params: str) -> requests.Response:
    response = server.get(server.url + "/sparql", params={"query": query, **params}, headers=headers, timeout=60)
    assert response.status_code in (200, 304), response.text
    return response


def health(server: Client) -> dict[str, int]:
    return server.get(server.url + "/health", timeout=60).json()  # type: ignore[no-any-return]


def counted(response: requests.Response) -> int:
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def load(store_path: Path, tmp_path: Path, triples: int) -> None:
    """`samverkan import` into the store the server is serving, from another process, as an operator would."""
    data = tmp_path / "data.nt"
    data.write_text("".join(f'<http://example.org/s{i}> <http://example.org/p> "{i}" .\n' for i in range(triples)))
    command = samverkan("import", str(data), "--graph", GRAPH, "--store", str(store_path))
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_a_repeated_query_is_answered_from_the_cache(server: Client) -> None:
    before = health(server)
    first = get(server, count_query("repeat"))
    second = get(server, count_query("repeat"))
    assert first.headers["Samverkan-Cache"] == "miss"
    assert second.headers["Samverkan-Cache"] == "hit"
    assert first.headers["ETag"].startswith('W/"')
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.content == first.content
    after = health(server)
    assert after["result_cache_hits"] == before["result_cache_hits"] + 1
    assert after["result_cache_misses"] == before["result_cache_misses"] + 1
    # A POST query takes the same path.
    posted = server.post(server.url + "/sparql", data={"query": count_query("repeat")}, timeout=60)
    assert posted.headers["Samverkan-Cache"] == "hit"


def test_a_current_copy_gets_304_without_the_query_being_run(server: Client) -> None:
    etag = get(server, count_query("304")).headers["ETag"]
    before = health(server)
    response = get(server, count_query("304"), headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == etag
    after = health(server)
    assert after["result_cache_not_modified"] == before["result_cache_not_modified"] + 1
    assert (after["result_cache_hits"], after["result_cache_misses"]) == (
        before["result_cache_hits"],
        before["result_cache_misses"],
    ), "neither run nor looked up"
    assert get(server, count_query("304"), headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_the_etag_depends_on_query_format_and_dataset(server: Client) -> None:
    query = count_query("variants")
    etags = [
        get(server, query).headers["ETag"],
        get(server, query, format="csv").headers["ETag"],
        get(server, query, headers={"Accept": "text/tab-separated-values"}).headers["ETag"],
        get(server, query, **{"default-graph-uri": GRAPH}).headers["ETag"],
        get(server, count_query("another query")).headers["ETag"],
    ]
    assert len(set(etags)) == len(etags)
    assert get(server, query, format="csv").headers["ETag"] == etags[1]


def test_a_load_or_an_update_makes_the_answer_fresh(server: Client, store_path: Path, tmp_path: Path) -> None:
    query = count_query("fresh")
    before = get(server, query)
    assert get(server, query).headers["Samverkan-Cache"] == "hit"

    load(store_path, tmp_path, 25)
    loaded = get(server, query, headers={"If-None-Match": before.headers["ETag"]})
    assert loaded.status_code == 200, "the old copy is no longer current"
    assert loaded.headers["Samverkan-Cache"] == "miss"
    assert loaded.headers["ETag"] != before.headers["ETag"]
    assert counted(loaded) == 25
    assert get(server, query).headers["Samverkan-Cache"] == "hit"

    insert = f"INSERT DATA {{ GRAPH <{GRAPH}> {{ <http://example.org/s> <http://example.org/p> 'one more' }} }}"
    response = server.post(
        server.url + "/update", data={"update": insert}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    )
    assert response.status_code == 200, response.text
    updated = get(server, query)
    assert updated.headers["Samverkan-Cache"] == "miss"
    assert updated.headers["ETag"] not in (before.headers["ETag"], loaded.headers["ETag"])
    assert counted(updated) == 26


def test_saved_queries_are_cached_the_same_way(server: Client, store_path: Path, tmp_path: Path) -> None:
    catalogue = server.get(server.url + "/api/queries", timeout=60).json()["queries"]
    name = next(query["name"] for query in catalogue if not query["parameters"])
    url = f"{server.url}/api/queries/{name}"
    first = server.get(url, timeout=60)
    assert first.status_code == 200, first.text
    second = server.get(url, timeout=60)
    assert (first.headers["Samverkan-Cache"], second.headers["Samverkan-Cache"]) == ("miss", "hit")
    assert second.headers["ETag"] == first.headers["ETag"]
    current = server.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=60)
    assert current.status_code == 304
    assert current.headers["Samverkan-Query-Version"] == first.headers["Samverkan-Query-Version"]

    load(store_path, tmp_path, 3)
    fresh = server.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=60)
    assert fresh.status_code == 200
    assert fresh.headers["Samverkan-Cache"] == "miss"
    assert fresh.headers["ETag"] != first.headers["ETag"]


def test_the_cache_keeps_to_its_size(server: Client) -> None:
    """About 0.4 MiB answers in a 1 MiB cache: the oldest are dropped, the newest kept."""
    values = " ".join(str(i) for i in range(200))
    big = [f"# {n}\nSELECT * WHERE {{ VALUES ?a {{ {values} }} VALUES ?b {{ {values} }} }}" for n in range(5)]
    sizes = [len(get(server, query, format="csv").content) for query in big]
    assert min(sizes) > 0.25 * 1024 * 1024
    state = health(server)
    assert state["result_cache_bytes"] <= 1024 * 1024
    assert get(server, big[-1], format="csv").headers["Samverkan-Cache"] == "hit"
    assert get(server, big[0], format="csv").headers["Samverkan-Cache"] == "miss"


def test_answers_from_a_remote_store_are_not_validated_or_cached(remote_client: Client) -> None:
    response = get(remote_client, count_query("remote"))
    assert response.headers["Samverkan-Cache"] == "off"
    assert "ETag" not in response.headers
