"""LOAD (in /update) and SERVICE (in /sparql and in updates) reach only allow-listed URLs.

pyoxigraph 0.5.13 fetches for real (the allowed cases below load from and query a real Oxigraph server on
127.0.0.1), so loopback addresses, the cloud metadata address and local files must be refused before the
store sees the text. The allowed server is on the loopback address only because tests have no other host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from conftest import Client, Server, in_process, start_oxigraph

from service.config import WIKIDATA_SPARQL

TOKEN = "fetch-policy-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SOURCE_GRAPH = "http://example.org/graph/remote"
TRIPLE = '<http://example.org/kommun/1980> <http://example.org/name> "Västerås stad" .'
METADATA = "http://169.254.169.254/latest/meta-data/"
PASSWD = "file:///etc/passwd"


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Another endpoint with data of its own: the one the operator allows."""
    server = start_oxigraph(tmp_path_factory.mktemp("fetched"))
    response = requests.post(
        server.url + "/update",
        data=f"INSERT DATA {{ GRAPH <{SOURCE_GRAPH}> {{ {TRIPLE} }} }}".encode(),
        headers={"Content-Type": "application/sparql-update"},
        timeout=60,
    )
    assert response.status_code < 300, response.text
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(remote: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    tmp = tmp_path_factory.mktemp("fetching")
    with in_process(
        tmp,
        store_path=str(tmp / "store"),
        load_shipped_data=False,
        update_token=TOKEN,
        query_workers=1,
        allowed_load_sources=(remote.url + "/store",),
        allowed_service_endpoints=(WIKIDATA_SPARQL, remote.url + "/query"),
    ) as server:
        yield server


def update(server: Client, text: str) -> requests.Response:
    headers = {**AUTH, "Content-Type": "application/sparql-update"}
    return server.post(server.url + "/update", data=text.encode(), headers=headers, timeout=60)


def query(server: Client, text: str) -> requests.Response:
    return server.get(server.url + "/sparql", params={"query": text}, timeout=60)


def forbidden_targets(server: Client) -> list[str]:
    return [f"http://127.0.0.1:{server.port}/sparql", METADATA, PASSWD]


@pytest.mark.parametrize("silent", ["", "SILENT "])
def test_load_from_loopback_metadata_or_a_file_is_refused(service: Client, silent: str) -> None:
    for iri in forbidden_targets(service):
        response = update(service, f"LOAD {silent}<{iri}> INTO GRAPH <http://example.org/graph/stolen>")
        assert response.status_code == 400, response.text
        assert f"LOAD <{iri}> is refused" in response.text
        assert "--allow-load" in response.text
    stolen = service.get(service.url + "/store", params={"graph": "http://example.org/graph/stolen"}, timeout=60)
    assert stolen.status_code == 404


def test_service_to_loopback_metadata_or_a_file_is_refused(service: Client) -> None:
    for iri in forbidden_targets(service):
        response = query(service, f"SELECT * WHERE {{ SERVICE <{iri}> {{ ?s ?p ?o }} }}")
        assert response.status_code == 400, response.text
        assert f"SERVICE <{iri}> is refused" in response.text
        assert "--allow-service" in response.text
        response = update(service, f"INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE SILENT <{iri}> {{ ?s ?p ?o }} }}")
        assert response.status_code == 400
        assert f"SERVICE <{iri}> is refused" in response.text


@pytest.mark.parametrize(
    ("sparql", "refused"),
    [
        # Written another way, the target is still found: a prefixed name, a relative IRI, an escape.
        (
            "PREFIX meta: <http://169.254.169.254/> SELECT * WHERE { SERVICE meta:latest { ?s ?p ?o } }",
            "SERVICE <http://169.254.169.254/latest> is refused",
        ),
        ("SELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }", "/sparql> is refused"),
        (
            "SELECT * WHERE { SERVICE <http://169.254.169.254\\u002Flatest> { ?s ?p ?o } }",
            "SERVICE <http://169.254.169.254/latest> is refused",
        ),
        ("SELECT * WHERE { ?s ?p ?o .SERVICE<http://127.0.0.1:1/>{ ?s ?p ?o } }", "SERVICE <http://127.0.0.1:1/>"),
        # A variable endpoint is known only while the query runs: refused.
        ("SELECT * WHERE { VALUES ?e { <http://127.0.0.1:1/> } SERVICE ?e { ?s ?p ?o } }", "SERVICE ?e is refused"),
    ],
)
def test_a_service_target_written_another_way_is_still_refused(service: Client, sparql: str, refused: str) -> None:
    response = query(service, sparql)
    assert response.status_code == 400, response.text
    assert refused in response.text


def test_a_near_miss_of_an_allowed_endpoint_is_refused(service: Client, remote: Server) -> None:
    for near in [f"http://localhost:{remote.port}/query", remote.url + "/query-other", remote.url + "/"]:
        response = query(service, f"SELECT * WHERE {{ SERVICE <{near}> {{ ?s ?p ?o }} }}")
        assert response.status_code == 400, near
        assert f"SERVICE <{near}> is refused" in response.text


def test_allowed_sources_and_endpoints_are_reached(service: Client, remote: Server) -> None:
    response = update(service, f"LOAD <{remote.url}/store?graph={SOURCE_GRAPH}> INTO GRAPH <http://example.org/copy>")
    assert response.status_code == 200, response.text
    copy = service.get(
        service.url + "/store",
        params={"graph": "http://example.org/copy"},
        headers={"Accept": "application/n-triples"},
        timeout=60,
    )
    assert copy.text.strip() == TRIPLE

    federated = "SELECT ?name WHERE { SERVICE <%s/query> { GRAPH ?g { ?m <http://example.org/name> ?name } } }"
    response = query(service, federated % remote.url)
    assert response.status_code == 200, response.text
    assert [row["name"]["value"] for row in response.json()["results"]["bindings"]] == ["Västerås stad"]
    # Its answer depends on another endpoint's data, so it is neither validated nor cached by ours.
    assert response.headers["Samverkan-Cache"] == "off"
    assert "ETag" not in response.headers
