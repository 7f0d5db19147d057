"""Limits that hold: a runaway query is stopped at its time limit while other requests are answered,
and an answer longer than the row cap is cut and says so."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import Server, start_oxigraph, start_samverkan

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # (triples)³ rows
ANY = "(<http://example.org/p>|!<http://example.org/p>)"
RUNAWAY_PATH = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?a {ANY}* ?b . ?c {ANY}* ?d }}"  # property paths over everything
CHEAP = "PREFIX samv: <https://w3id.org/samverkan/ontology#> SELECT ?m WHERE { ?m samv:kommunkod '1980' }"


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_samverkan(
        tmp_path_factory.mktemp("limited"), "--query-timeout", "3", "--max-rows", "50", "--query-workers", "2"
    )
    yield server
    server.stop()


def cheap_query(url: str) -> float:
    start = time.perf_counter()
    response = requests.get(url, params={"query": CHEAP}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["results"]["bindings"]
    return time.perf_counter() - start


def wait_for_idle_workers(server: Server, expected: int) -> dict[str, int]:
    health: dict[str, int] = {}
    for _ in range(100):
        health = requests.get(server.url + "/health", timeout=10).json()
        if health["query_workers"] == expected and health["idle_query_workers"] == expected:
            break
        time.sleep(0.1)
    return health


def test_a_runaway_query_is_stopped_while_cheap_queries_are_answered(limited_server: Server) -> None:
    url = limited_server.url + "/sparql"
    before = [cheap_query(url) for _ in range(5)]
    outcome: dict[str, requests.Response] = {}
    runaway = threading.Thread(
        target=lambda: outcome.update(response=requests.get(url, params={"query": RUNAWAY}, timeout=60))
    )
    runaway.start()
    time.sleep(0.5)
    during = [cheap_query(url) for _ in range(10)]
    answered_during_runaway = runaway.is_alive()
    runaway.join()
    after = [cheap_query(url) for _ in range(5)]

    assert answered_during_runaway, "the cheap queries must be answered while the runaway still runs"
    response = outcome["response"]
    assert response.status_code == 422
    assert "stopped after 3 s, the time limit" in response.text
    print(
        f"cheap query median latency: before {statistics.median(before) * 1000:.1f} ms, "
        f"during the runaway {statistics.median(during) * 1000:.1f} ms, after {statistics.median(after) * 1000:.1f} ms"
    )
    health = wait_for_idle_workers(limited_server, 2)
    assert health["query_workers"] == 2, "the stopped worker is replaced"


def test_a_property_path_over_everything_is_stopped(limited_server: Server) -> None:
    url = limited_server.url + "/sparql"
    response = requests.post(url, data={"query": RUNAWAY_PATH}, timeout=60)
    assert response.status_code == 422
    assert "stopped after 3 s, the time limit" in response.text
    assert cheap_query(url) >= 0
    wait_for_idle_workers(limited_server, 2)


def test_a_client_may_lower_the_time_limit(limited_server: Server) -> None:
    url = limited_server.url + "/sparql"
    response = requests.get(url, params={"query": RUNAWAY, "timeout": "1"}, timeout=60)
    assert response.status_code == 422
    assert "stopped after 1 s" in response.text
    response = requests.get(url, params={"query": CHEAP, "timeout": "soon"}, timeout=60)
    assert response.status_code == 400
    assert "'timeout' parameter is a number of seconds" in response.text
    wait_for_idle_workers(limited_server, 2)


def test_answers_are_cut_at_the_row_cap_and_say_so(limited_server: Server) -> None:
    url = limited_server.url + "/sparql"
    response = requests.get(url, params={"query": "SELECT * WHERE { ?s ?p ?o }", "format": "csv"}, timeout=30)
    assert response.status_code == 200
    assert len(response.text.strip().splitlines()) == 51  # header + 50 rows
    assert response.headers["Samverkan-Truncated"] == "the answer was cut to its first 50 rows"
    response = requests.get(url, params={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "ntriples"}, timeout=30)
    assert len(response.text.strip().splitlines()) == 50
    assert "Samverkan-Truncated" in response.headers
    response = requests.get(url, params={"query": CHEAP}, timeout=30)
    assert "Samverkan-Truncated" not in response.headers


def test_a_remote_store_query_is_abandoned_at_its_time_limit(tmp_path: Path) -> None:
    # The remote server's own limit ends the query we abandon, so it does not keep a core busy.
    oxigraph = start_oxigraph(tmp_path, "--timeout-s", "4")
    try:
        server = start_samverkan(
            tmp_path,
            "--query-url",
            oxigraph.url + "/query",
            "--update-url",
            oxigraph.url + "/update",
            "--query-timeout",
            "2",
        )
        try:
            response = requests.get(server.url + "/sparql", params={"query": RUNAWAY}, timeout=60)
            assert response.status_code == 422
            assert "stopped after 2 s" in response.text
            assert cheap_query(server.url + "/sparql") >= 0
        finally:
            server.stop()
    finally:
        oxigraph.stop()
