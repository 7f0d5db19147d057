"""The Graph Store HTTP Protocol at /store: reads open to all, PUT/POST/DELETE behind the write token (here
given through the SAMVERKAN_UPDATE_TOKEN environment variable), RDF bodies in and out by content type."""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import requests
from conftest import Client, in_process, serve_settings

TOKEN = "graph-store-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GRAPH = "http://example.org/graph/gsp"
ONTOLOGY_GRAPH = "https://w3id.org/samverkan/graph/ontology"

TURTLE = """@prefix ex: <http://example.org/> .
ex:västerås ex:name "Västerås stad"@sv ; ex:code "1980" .
ex:eskilstuna ex:name "Eskilstuna kommun"@sv .
"""
NTRIPLES = '<http://example.org/mdh> <http://example.org/name> "Mälardalens universitet"@sv .\n'


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    tmp = tmp_path_factory.mktemp("graph-store")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SAMVERKAN_UPDATE_TOKEN", TOKEN)
        settings = serve_settings("--store", str(tmp / "store"), "--no-shipped-data", "--query-workers", "1")
    with in_process(tmp, **settings) as client:
        yield client


def triples(text: bytes | str, rdf_format: ox.RdfFormat) -> set[ox.Triple]:
    data = text.encode() if isinstance(text, str) else text
    return {quad.triple for quad in ox.parse(data, format=rdf_format)}


def get(server: Client, accept: str, **params: str) -> requests.Response:
    return server.get(server.url + "/store", params=params, headers={"Accept": accept}, timeout=60)


def send(
    server: Client, method: str, body: str = "", content_type: str = "text/turtle", **params: str
) -> requests.Response:
    headers = {**AUTH, "Content-Type": content_type}
    return server.request(method, server.url + "/store", params=params, data=body.encode(), headers=headers, timeout=60)


def test_reads_are_open_and_writes_closed_on_a_service_without_a_token(client: Client) -> None:
    response = get(client, "text/turtle", graph=ONTOLOGY_GRAPH)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/turtle")
    assert ox.Triple(
        ox.NamedNode("https://w3id.org/samverkan/ontology"),
        ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
        ox.NamedNode("http://www.w3.org/2002/07/owl#Ontology"),
    ) in triples(response.content, ox.RdfFormat.TURTLE)
    for method in ("PUT", "POST", "DELETE"):
        refused = send(client, method, TURTLE, graph=ONTOLOGY_GRAPH)
        assert refused.status_code == 403
        assert "Writes are closed on this service" in refused.text
    assert get(client, "text/turtle", graph=ONTOLOGY_GRAPH).content == response.content


def test_a_named_graph_is_created_replaced_added_to_read_and_deleted(writable: Client) -> None:
    assert get(writable, "text/turtle", graph=GRAPH).status_code == 404

    response = send(writable, "PUT", TURTLE, graph=GRAPH)
    assert response.status_code == 201, response.text
    assert "now holds 3 triples" in response.text
    expected = triples(TURTLE, ox.RdfFormat.TURTLE)
    for accept, rdf_format in [
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
    ]:
        response = get(writable, accept, graph=GRAPH)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith(accept)
        assert triples(response.content, rdf_format) == expected

    head = writable.head(writable.url + "/store", params={"graph": GRAPH}, timeout=60)
    assert head.status_code == 200
    assert head.content == b""

    response = send(writable, "PUT", NTRIPLES, "application/n-triples", graph=GRAPH)
    assert response.status_code == 200
    assert triples(get(writable, "application/n-triples", graph=GRAPH).content, ox.RdfFormat.N_TRIPLES) == triples(
        NTRIPLES, ox.RdfFormat.N_TRIPLES
    )

    response = send(writable, "POST", TURTLE, graph=GRAPH)
    assert response.status_code == 200
    assert "received 3 triples" in response.text
    merged = triples(NTRIPLES, ox.RdfFormat.N_TRIPLES) | expected
    assert triples(get(writable, "application/n-triples", graph=GRAPH).content, ox.RdfFormat.N_TRIPLES) == merged

    # A write is seen by queries at once (the cache is keyed by the data version).
    ask = f'ASK {{ GRAPH <{GRAPH}> {{ ?s ?p "Mälardalens universitet"@sv }} }}'
    assert writable.get(writable.url + "/sparql", params={"query": ask}, timeout=60).json()["boolean"] is True

    assert send(writable, "DELETE", graph=GRAPH).status_code == 200
    assert get(writable, "text/turtle", graph=GRAPH).status_code == 404
    assert send(writable, "DELETE", graph=GRAPH).status_code == 404
    assert writable.get(writable.url + "/sparql", params={"query": ask}, timeout=60).json()["boolean"] is False


def test_default_addresses_the_stores_own_default_graph(writable: Client) -> None:
    assert send(writable, "PUT", NTRIPLES, "application/n-triples", default="").status_code == 200
    assert send(writable, "PUT", TURTLE, graph=GRAPH).status_code == 201
    default = triples(get(writable, "application/n-triples", default="").content, ox.RdfFormat.N_TRIPLES)
    assert default == triples(NTRIPLES, ox.RdfFormat.N_TRIPLES), "only the default graph, not the union"
    assert send(writable, "DELETE", default="").status_code == 200
    assert get(writable, "application/n-triples", default="").content.strip() == b""
    assert send(writable, "DELETE", graph=GRAPH).status_code == 200


@pytest.mark.parametrize(
    ("method", "params", "body", "content_type", "headers", "status", "says"),
    [
        ("GET", {}, "", "", {}, 400, "Name one graph"),
        ("GET", {"graph": GRAPH, "default": ""}, "", "", {}, 400, "Name one graph"),
        ("GET", {"graph": "relative"}, "", "", {}, 400, "'graph' parameter must be an absolute IRI"),
        ("PUT", {"graph": GRAPH}, "a,b\n", "text/csv", {}, 415, "'text/csv'"),
        ("PUT", {"graph": GRAPH}, "<http://a> <http://b> .", "text/turtle", {}, 400, "not valid Turtle"),
        ("PUT", {"graph": GRAPH}, TURTLE, "text/turtle", {"Authorization": ""}, 401, "Authorization: Bearer"),
        ("PUT", {"graph": GRAPH}, TURTLE, "text/turtle", {"Authorization": "Bearer wrong"}, 403, "not this service"),
        ("POST", {}, TURTLE, "text/turtle", {}, 400, "Name one graph"),
    ],
)
def test_a_bad_request_is_refused_with_a_message_and_changes_nothing(
    writable: Client,
    method: str,
    params: dict[str, str],
    body: str,
    content_type: str,
    headers: dict[str, str],
    status: int,
    says: str,
) -> None:
    sent = {**AUTH, **({"Content-Type": content_type} if content_type else {}), **headers}
    response = writable.request(
        method, writable.url + "/store", params=params, data=body.encode(), headers=sent, timeout=60
    )
    assert response.status_code == status, response.text
    assert says in response.text
    assert get(writable, "text/turtle", graph=GRAPH).status_code == 404


def test_a_graph_is_offered_in_the_formats_asked_for(writable: Client) -> None:
    assert send(writable, "PUT", TURTLE, graph=GRAPH).status_code == 201
    response = get(writable, "text/csv", graph=GRAPH)
    assert response.status_code == 406
    assert "text/turtle" in response.text
    response = writable.get(writable.url + "/store", params={"graph": GRAPH, "format": "ntriples"}, timeout=60)
    assert response.headers["Content-Type"].startswith("application/n-triples")
    assert send(writable, "DELETE", graph=GRAPH).status_code == 200
