"""The SPARQL 1.1 Protocol at /sparql, with SPARQLWrapper (over real HTTP) and requests (in this process).

Every test runs twice: on the embedded store and with the service in front of an Oxigraph server.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
import rdflib
from conftest import Client
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, POSTDIRECTLY, RDFXML, TSV, TURTLE, URLENCODED, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

REFERENCE = "https://w3id.org/samverkan/graph/reference"
ONTOLOGY = "https://w3id.org/samverkan/graph/ontology"
PREFIX = "PREFIX samv: <https://w3id.org/samverkan/ontology#>\n"
VASTERAS = PREFIX + "SELECT ?code ?county WHERE { ?m samv:kommunkod '1980' ; samv:kommunkod ?code ; samv:county ?c . "
VASTERAS += "?c samv:lanskod ?county }"
COUNT_MUNICIPALITIES = PREFIX + "SELECT (COUNT(?m) AS ?n) WHERE { ?m a samv:Municipality }"
CONSTRUCT_COUNTIES = PREFIX + "CONSTRUCT { ?c samv:lanskod ?code } WHERE { ?c a samv:County ; samv:lanskod ?code }"
SRJ = "application/sparql-results+json"


@pytest.fixture
def endpoint(each_store: Client) -> str:
    return each_store.url + "/sparql"


def wrapper(endpoint: str, query: str, fmt: str = JSON) -> SPARQLWrapper:
    client = SPARQLWrapper(endpoint)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    return client


def bindings(result: dict) -> list[dict[str, str]]:  # type: ignore[type-arg]
    return [{k: v["value"] for k, v in row.items()} for row in result["results"]["bindings"]]


@pytest.mark.parametrize(
    ("method", "request_method"), [("GET", None), (POST, URLENCODED), (POST, POSTDIRECTLY)], ids=str
)
def test_select_by_get_post_form_and_post_direct(endpoint: str, method: str, request_method: str | None) -> None:
    client = wrapper(endpoint, VASTERAS)
    client.setMethod(method)
    if request_method:
        client.setRequestMethod(request_method)
    assert bindings(client.queryAndConvert()) == [{"code": "1980", "county": "19"}]


def test_default_graph_uri_restricts_the_default_graph(endpoint: str) -> None:
    client = wrapper(endpoint, COUNT_MUNICIPALITIES)
    client.addDefaultGraph(ONTOLOGY)
    assert bindings(client.queryAndConvert()) == [{"n": "0"}]
    client = wrapper(endpoint, COUNT_MUNICIPALITIES)
    client.addDefaultGraph(REFERENCE)
    assert bindings(client.queryAndConvert()) == [{"n": "290"}]


def test_without_dataset_the_default_graph_is_the_union_of_named_graphs(endpoint: str) -> None:
    query = PREFIX + "SELECT (COUNT(*) AS ?n) WHERE { ?m a samv:Municipality . samv:Municipality a ?type }"
    assert bindings(wrapper(endpoint, query).queryAndConvert()) == [{"n": "290"}]


def test_named_graph_uri_sets_the_named_graphs(endpoint: str) -> None:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    client = wrapper(endpoint, query)
    client.addNamedGraph(REFERENCE)
    client.addNamedGraph(ONTOLOGY)
    assert [row["g"] for row in bindings(client.queryAndConvert())] == [ONTOLOGY, REFERENCE]


def test_from_in_the_query_is_honoured(endpoint: str) -> None:
    query = COUNT_MUNICIPALITIES.replace("WHERE", f"FROM <{ONTOLOGY}> WHERE")
    assert bindings(wrapper(endpoint, query).queryAndConvert()) == [{"n": "0"}]


def test_select_formats_through_sparqlwrapper(endpoint: str) -> None:
    xml_doc = wrapper(endpoint, VASTERAS, XML).queryAndConvert()
    values = [e.firstChild.data for e in xml_doc.getElementsByTagName("literal")]  # type: ignore[union-attr]
    assert sorted(values) == ["19", "1980"]
    csv_rows = list(csv.DictReader(io.StringIO(wrapper(endpoint, VASTERAS, CSV).queryAndConvert().decode())))
    assert csv_rows == [{"code": "1980", "county": "19"}]
    tsv = wrapper(endpoint, VASTERAS, TSV).queryAndConvert().decode().splitlines()
    assert tsv == ["?code\t?county", '"1980"\t"19"']


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, SRJ),
        ("*/*", SRJ),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("application/json", SRJ),
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
        ("text/html, application/xhtml+xml, */*;q=0.8", SRJ),
    ],
)
def test_select_content_negotiation(endpoint: str, each_store: Client, accept: str | None, media_type: str) -> None:
    headers = {"Accept": accept} if accept else {}
    response = each_store.get(endpoint, params={"query": VASTERAS}, headers=headers, timeout=30)
    if accept is None:
        assert "Accept" not in response.request.headers or response.request.headers["Accept"] == "*/*"
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media_type
    assert "1980" in response.text


@pytest.mark.parametrize(
    ("fmt", "accept", "media_type", "rdflib_format"),
    [
        (TURTLE, None, "text/turtle", "turtle"),
        (RDFXML, None, "application/rdf+xml", "xml"),
        (JSONLD, None, "application/ld+json", "json-ld"),
        (N3, None, "text/n3", "n3"),
        (None, "application/n-triples", "application/n-triples", "nt"),
        (None, None, "text/turtle", "turtle"),
        (None, "application/rdf+xml;q=0.4, text/turtle;q=0.9", "text/turtle", "turtle"),
    ],
)
def test_construct_formats(
    endpoint: str, each_store: Client, fmt: str | None, accept: str | None, media_type: str, rdflib_format: str
) -> None:
    if fmt:
        client = wrapper(endpoint, CONSTRUCT_COUNTIES, fmt)
        response = client.query().response
        content_type, body = response.headers["Content-Type"], response.read()
    else:
        headers = {"Accept": accept} if accept else {}
        response = each_store.post(endpoint, data={"query": CONSTRUCT_COUNTIES}, headers=headers, timeout=30)
        content_type, body = response.headers["Content-Type"], response.content
    assert content_type.split(";")[0] == media_type
    graph = rdflib.Graph().parse(data=body, format=rdflib_format)
    assert len(graph) == 21
    assert (
        rdflib.URIRef("https://w3id.org/samverkan/id/lan/19"),
        rdflib.URIRef("https://w3id.org/samverkan/ontology#lanskod"),
        rdflib.Literal("19"),
    ) in graph


def test_describe_and_ask(endpoint: str, each_store: Client) -> None:
    response = each_store.get(endpoint, params={"query": "DESCRIBE <https://w3id.org/samverkan/id/kommun/0484>"})
    assert response.headers["Content-Type"].startswith("text/turtle")
    assert "0484" in response.text
    ask = PREFIX + "ASK { ?m samv:kommunkod '0484' }"
    assert wrapper(endpoint, ask).queryAndConvert() == {"head": {}, "boolean": True}
    xml_answer = each_store.get(endpoint, params={"query": ask}, headers={"Accept": "application/sparql-results+xml"})
    assert ET.fromstring(xml_answer.content).find("{http://www.w3.org/2005/sparql-results#}boolean").text == "true"


def test_format_parameter_wins_over_accept(endpoint: str, each_store: Client) -> None:
    response = each_store.get(endpoint, params={"query": VASTERAS, "format": "csv"}, headers={"Accept": SRJ})
    assert response.headers["Content-Type"].startswith("text/csv")
    response = each_store.get(endpoint, params={"query": CONSTRUCT_COUNTIES, "format": "application/n-triples"})
    assert response.headers["Content-Type"].startswith("application/n-triples")
    # SPARQLWrapper's `output` and `results` parameters mean the same as `format`.
    response = each_store.get(endpoint, params={"query": VASTERAS, "output": "xml", "results": "xml"})
    assert response.headers["Content-Type"].startswith("application/sparql-results+xml")


def test_not_acceptable(endpoint: str, each_store: Client) -> None:
    response = each_store.get(endpoint, params={"query": VASTERAS}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.text
    response = each_store.get(endpoint, params={"query": CONSTRUCT_COUNTIES, "format": "csv"})
    assert response.status_code == 406
    assert "Unknown or unsuitable format 'csv'" in response.text
    response = each_store.get(endpoint, params={"query": VASTERAS, "format": "yaml"})
    assert response.status_code == 406


def test_malformed_query_gets_the_parsers_message(endpoint: str, each_store: Client) -> None:
    client = wrapper(endpoint, "SELECT ?x WHERE { ?x ?y }")
    with pytest.raises(QueryBadFormed) as raised:
        client.queryAndConvert()
    assert "not valid SPARQL 1.1" in str(raised.value)
    response = each_store.get(endpoint, params={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "1:" in response.text  # the parser's position


def test_request_without_query(endpoint: str, each_store: Client) -> None:
    response = each_store.post(endpoint, data={"default-graph-uri": REFERENCE})
    assert response.status_code == 400
    assert "Missing the 'query' parameter" in response.text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_parameters_without_a_query_are_a_client_error(endpoint: str, each_store: Client, method: str) -> None:
    """Whatever the Accept header asks for, a request with parameters but no query is a 400 saying so."""
    accept = {"Accept": "application/sparql-results+json"}
    if method == "GET":
        response = each_store.get(endpoint, params={"foo": "bar"}, headers=accept)
    else:
        response = each_store.post(endpoint, data={"foo": "bar"}, headers=accept)
    assert response.status_code == 400
    assert "there is no query parameter in this request (it has foo)" in response.text


def test_bare_get_returns_the_service_description(endpoint: str, each_store: Client) -> None:
    response = each_store.get(endpoint)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    service = rdflib.URIRef(endpoint)
    assert (service, rdflib.RDF.type, sd.Service) in graph
    assert (service, sd.supportedLanguage, sd.SPARQL11Query) in graph
    assert (service, sd.feature, sd.UnionDefaultGraph) in graph
    assert rdflib.URIRef(REFERENCE) in set(graph.objects(None, sd.name))
    response = each_store.get(endpoint, headers={"Accept": "application/ld+json"})
    assert isinstance(json.loads(response.text), list | dict)


def test_updates_are_refused_with_a_message(endpoint: str, each_store: Client) -> None:
    update = "INSERT DATA { GRAPH <http://example.org/g> { <http://a> <http://b> <http://c> } }"
    for response in (
        each_store.post(endpoint, data={"update": update}),
        each_store.get(endpoint, params={"query": update}),
        each_store.post(endpoint, data=update, headers={"Content-Type": "application/sparql-update"}),
    ):
        assert response.status_code in (400, 415)
        assert "SPARQL Update is not accepted here" in response.text
    ask = "ASK { GRAPH <http://example.org/g> { ?s ?p ?o } }"
    assert wrapper(endpoint, ask).queryAndConvert()["boolean"] is False


def test_protocol_errors(endpoint: str, each_store: Client) -> None:
    response = each_store.put(endpoint, data="ASK {}")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "PUT is not allowed" in response.text
    response = each_store.get(endpoint, params=[("query", "ASK {}"), ("query", "ASK {}")])
    assert response.status_code == 400
    response = each_store.post(endpoint, data="ASK {}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "application/sparql-query" in response.text
    response = each_store.post(
        endpoint, data="ASK {}".encode("utf-16"), headers={"Content-Type": "application/sparql-query; charset=UTF-16"}
    )
    assert response.status_code == 415


def test_head_and_cors(endpoint: str, each_store: Client) -> None:
    head = each_store.head(endpoint, params={"query": VASTERAS})
    assert head.status_code == 200
    assert head.headers["Content-Type"].startswith(SRJ)
    assert head.content == b""
    preflight = each_store.options(
        endpoint,
        headers={
            "Origin": "http://localhost:8888",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    get = each_store.get(endpoint, params={"query": VASTERAS}, headers={"Origin": "http://localhost:8888"})
    assert get.headers["Access-Control-Allow-Origin"] == "*"


def test_oversized_requests_are_refused_and_the_server_keeps_serving(endpoint: str, each_store: Client) -> None:
    padding = "#" + "x" * 150_000 + "\n"
    response = each_store.post(endpoint, data={"query": padding + "ASK {}"})
    assert response.status_code == 413
    assert "at most 100000" in response.text
    response = each_store.post(
        endpoint, data=b"#" * 3_000_000, headers={"Content-Type": "application/sparql-query"}, timeout=30
    )
    assert response.status_code == 413
    assert wrapper(endpoint, VASTERAS).queryAndConvert()["results"]["bindings"]


def test_health(endpoint: str, each_store: Client) -> None:
    health = each_store.get(endpoint.replace("/sparql", "/health")).json()
    assert health["status"] == "ok"
    assert health["named_graphs"] >= 5
