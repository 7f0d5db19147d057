"""Our service in front of OpenLink Virtuoso 7.2 (Debian's virtuoso-opensource), as docs/remote-stores.md sets it up.

Virtuoso is started once per session on 127.0.0.1 (scripts/virtuoso). The shipped data goes in the way the docs
advise for Virtuoso: loaded into an embedded store by our own loader, exported as N-Quads and bulk-loaded with
Virtuoso's loader (a SPARQL Update as large as our loader writes is more than Virtuoso's compiler takes). The
service then finds every graph up to date in the catalogue and starts without writing.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import requests
from conftest import ROOT, Client, Server, free_port, in_process, samverkan
from SPARQLWrapper import JSON, POST, POSTDIRECTLY, TURTLE, URLENCODED, SPARQLWrapper

from service.ingest.shipped import shipped_sources, sync
from service.store import EmbeddedStore

SCRIPT = str(ROOT / "scripts" / "virtuoso")
ID = "https://w3id.org/samverkan/id/"
REFERENCE = "https://w3id.org/samverkan/graph/reference"
ONTOLOGY = "https://w3id.org/samverkan/graph/ontology"
PREFIXES = """PREFIX samv: <https://w3id.org/samverkan/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""
VASTERAS = PREFIXES + (
    "SELECT ?name ?official ?county ?lan WHERE { <https://w3id.org/samverkan/id/kommun/1980> rdfs:label ?name ;"
    " samv:officialName ?official ; samv:county ?c . ?c rdfs:label ?county ; samv:lanskod ?lan }"
)
VASTERAS_ROW = {"name": "Västerås", "official": "Västerås stad", "county": "Västmanlands län", "lan": "19"}
COUNT_MUNICIPALITIES = PREFIXES + "SELECT (COUNT(?m) AS ?n) WHERE { ?m a samv:Municipality }"
CONSTRUCT_COUNTIES = PREFIXES + "CONSTRUCT { ?c samv:lanskod ?code } WHERE { ?c a samv:County ; samv:lanskod ?code }"


@dataclass
class Virtuoso:
    server: Server
    graphs: set[str]  # the named graphs bulk-loaded into it
    catalogue: list[ox.Quad]  # the dcterms:modified of each graph, as exported

    @property
    def sparql(self) -> str:
        return self.server.url + "/sparql"


def two_free_ports() -> tuple[int, int]:
    first = free_port()
    while (second := free_port()) == first:
        pass
    return first, second


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    if shutil.which("virtuoso-t") is None:
        installed = subprocess.run([SCRIPT, "install"], capture_output=True, text=True)
        if shutil.which("virtuoso-t") is None:
            pytest.skip(f"Virtuoso is not installed and `scripts/virtuoso install` failed: {installed.stderr[-300:]}")
    tmp = tmp_path_factory.mktemp("virtuoso")
    load = tmp / "load"
    load.mkdir()
    # The shipped data, through our own loader, as N-Quads.
    sync(EmbeddedStore(str(tmp / "store")), shipped_sources(ROOT))
    dump = load / "shipped.nq"
    subprocess.run(
        samverkan("export", "--store", str(tmp / "store"), "--format", "nquads", "-o", str(dump)), check=True
    )
    quads = list(ox.parse(path=dump, format=ox.RdfFormat.N_QUADS))
    graphs = {quad.graph_name.value for quad in quads}
    catalogue = [quad for quad in quads if quad.predicate.value == "http://purl.org/dc/terms/modified"]
    sql_port, http_port = two_free_ports()
    server = Server(
        [SCRIPT, "serve", str(tmp / "db"), str(sql_port), str(http_port), str(load)],
        http_port,
        tmp / "virtuoso.log",
        "/sparql?query=ASK%7B%7D",
    )
    try:
        subprocess.run([SCRIPT, "load", str(sql_port), str(dump), f"{ID}unnamed"], check=True)
        subprocess.run([SCRIPT, "allow-update", str(sql_port)], check=True)
        yield Virtuoso(server, graphs, catalogue)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def service(virtuoso: Virtuoso, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """Our service with Virtuoso as its store; it loads the shipped data only if the catalogue says it changed."""
    with in_process(
        tmp_path_factory.mktemp("on-virtuoso"), query_url=virtuoso.sparql, update_url=virtuoso.sparql
    ) as server:
        yield server


@pytest.fixture(scope="module")
def endpoint(service: Client) -> str:
    return service.url + "/sparql"


def select(url: str, query: str, **params: str | list[str]) -> list[dict[str, str]]:
    response = requests.post(url, data={"query": query, **params}, headers={"Accept": "text/csv"}, timeout=60)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


@pytest.mark.parametrize(
    ("method", "request_method"), [("GET", None), (POST, URLENCODED), (POST, POSTDIRECTLY)], ids=str
)
def test_select_by_get_post_form_and_post_direct(endpoint: str, method: str, request_method: str | None) -> None:
    client = SPARQLWrapper(endpoint)
    client.setQuery(VASTERAS)
    client.setReturnFormat(JSON)
    client.setMethod(method)
    if request_method:
        client.setRequestMethod(request_method)
    rows = client.queryAndConvert()["results"]["bindings"]
    assert [{k: v["value"] for k, v in row.items()} for row in rows] == [VASTERAS_ROW]


def test_the_service_found_the_bulk_loaded_graphs_up_to_date(service: Client, virtuoso: Virtuoso) -> None:
    """Had it reloaded a graph, the catalogue in Virtuoso would carry a later dcterms:modified than the export."""
    modified = (
        "SELECT ?g ?when WHERE { GRAPH <https://w3id.org/samverkan/graph/catalogue> { ?g dcterms:modified ?when } }"
    )
    exported = {(q.subject.value, q.object.value) for q in virtuoso.catalogue}
    assert {(row["g"], row["when"]) for row in select(virtuoso.sparql, PREFIXES + modified)} == exported
    assert service.get(service.url + "/health", timeout=30).json()["named_graphs"] == len(virtuoso.graphs)


def test_the_default_graph_is_the_union_of_our_graphs_without_virtuosos_own(endpoint: str, virtuoso: Virtuoso) -> None:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert {row["g"] for row in select(endpoint, query)} == virtuoso.graphs
    # Virtuoso itself has more graphs (its RDF views' schema), which our union leaves out.
    assert {row["g"] for row in select(virtuoso.sparql, query)} > virtuoso.graphs
    everything = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert int(select(endpoint, everything)[0]["n"]) < int(select(virtuoso.sparql, everything)[0]["n"])


def test_dataset_parameters_and_from(endpoint: str) -> None:
    assert select(endpoint, COUNT_MUNICIPALITIES, **{"default-graph-uri": ONTOLOGY}) == [{"n": "0"}]
    assert select(endpoint, COUNT_MUNICIPALITIES, **{"default-graph-uri": REFERENCE}) == [{"n": "290"}]
    named = select(
        endpoint,
        "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g",
        **{"named-graph-uri": [REFERENCE, ONTOLOGY]},
    )
    assert [row["g"] for row in named] == [ONTOLOGY, REFERENCE]
    assert select(endpoint, COUNT_MUNICIPALITIES.replace("WHERE", f"FROM <{ONTOLOGY}> WHERE")) == [{"n": "0"}]


def test_construct_describe_and_ask(endpoint: str) -> None:
    client = SPARQLWrapper(endpoint)
    client.setQuery(CONSTRUCT_COUNTIES)
    client.setReturnFormat(TURTLE)
    graph = rdflib.Graph().parse(data=client.query().response.read(), format="turtle")
    assert len(graph) == 21
    lanskod = rdflib.URIRef("https://w3id.org/samverkan/ontology#lanskod")
    assert (rdflib.URIRef(ID + "lan/19"), lanskod, rdflib.Literal("19")) in graph
    response = requests.get(endpoint, params={"query": CONSTRUCT_COUNTIES}, headers={"Accept": "application/n-triples"})
    assert response.headers["Content-Type"].startswith("application/n-triples")
    assert len(rdflib.Graph().parse(data=response.text, format="nt")) == 21
    described = requests.get(
        endpoint, params={"query": f"DESCRIBE <{ID}kommun/1980>"}, headers={"Accept": "text/turtle"}
    )
    assert (rdflib.URIRef(ID + "kommun/1980"), rdflib.RDFS.label, rdflib.Literal("Västerås", lang="sv")) in (
        rdflib.Graph().parse(data=described.text, format="turtle")
    )
    for code, expected in (("0484", True), ("9999", False)):
        answer = requests.get(endpoint, params={"query": PREFIXES + f"ASK {{ ?m samv:kommunkod '{code}' }}"}).json()
        assert answer["boolean"] is expected


def test_290_municipalities_with_unique_codes_in_21_counties(endpoint: str) -> None:
    rows = select(
        endpoint,
        PREFIXES + "SELECT ?kod ?lan WHERE { ?m a samv:Municipality ; samv:kommunkod ?kod ; samv:county ?c . "
        "?c samv:lanskod ?lan }",
    )
    assert len(rows) == 290
    assert len({row["kod"] for row in rows}) == 290
    assert all(row["kod"].startswith(row["lan"]) for row in rows)
    assert len({row["lan"] for row in rows}) == 21


def test_vasteras_is_in_vastmanlands_lan_and_samhallskontraktet_has_its_founders(endpoint: str) -> None:
    assert select(endpoint, VASTERAS) == [VASTERAS_ROW]
    parties = select(
        endpoint,
        PREFIXES + "SELECT ?party WHERE { ?agreement a samv:Agreement ; samv:party ?p . ?p rdfs:label ?party . "
        "FILTER(lang(?party) = 'sv' || lang(?party) = '') "
        "?c samv:agreement ?agreement ; rdfs:label 'Samhällskontraktet'@sv }",
    )
    assert sorted(row["party"] for row in parties) == ["Eskilstuna", "Mälardalens universitet", "Västerås"]


def test_a_malformed_query_gets_virtuosos_message(endpoint: str) -> None:
    response = requests.get(endpoint, params={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert response.status_code == 400
    assert "not valid SPARQL 1.1" in response.text
    assert "Virtuoso" in response.text


def test_an_update_sent_as_a_query_is_refused_before_it_reaches_virtuoso(endpoint: str, virtuoso: Virtuoso) -> None:
    """Virtuoso runs updates that come to its query endpoint; ours must never pass one on."""
    graph = "http://example.org/should-not-exist"
    for query in (
        f"INSERT DATA {{ GRAPH <{graph}> {{ <http://a> <http://b> <http://c> }} }}",
        f"PREFIX ex: <http://example.org/>\nBASE <http://example.org/>\nLOAD <x> INTO GRAPH <{graph}>",
    ):
        response = requests.get(endpoint, params={"query": query})
        assert response.status_code == 400
        assert "SPARQL Update is not accepted here" in response.text
    assert select(virtuoso.sparql, f"SELECT * WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}") == []


SAVED_QUERIES = {
    "municipalities": "",
    "municipality-profile": "?kommun=1980",
    "collaborations-by-county": "",
    "governance-tools-by-form": "",
}


@pytest.mark.parametrize("name", SAVED_QUERIES)
def test_saved_queries_answer_as_on_the_embedded_store(name: str, service: Client, client: Client) -> None:
    """The saved queries listed in docs/remote-stores.md as giving Virtuoso's answers the same as Oxigraph's."""

    def rows(server: Client) -> list[str]:
        response = server.get(f"{server.url}/api/queries/{name}{SAVED_QUERIES[name]}", headers={"Accept": "text/csv"})
        assert response.status_code == 200, response.text
        return sorted(response.text.splitlines())

    expected = rows(client)
    assert len(expected) > 1
    assert rows(service) == expected


def test_import_through_our_loader_lands_in_virtuoso(virtuoso: Virtuoso, endpoint: str, tmp_path: Path) -> None:
    """Small graphs load through our SPARQL Update loader once the SPARQL user may update (allow-update)."""
    graph = "https://w3id.org/samverkan/graph/test/virtuoso-import"
    data = tmp_path / "partners.ttl"
    data.write_text(
        "@prefix samv: <https://w3id.org/samverkan/ontology#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        + "".join(f'<{ID}org/test-{n}> a samv:Company ; rdfs:label "Testbolag {n}"@sv .\n' for n in range(50)),
        encoding="utf-8",
    )
    remote = ["--query-url", virtuoso.sparql, "--update-url", virtuoso.sparql]
    subprocess.run(samverkan("import", str(data), "--graph", graph, *remote), check=True, cwd=ROOT)
    count = PREFIXES + f"SELECT (COUNT(?c) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?c a samv:Company }} }}"
    deadline = time.monotonic() + 30  # the service renews its list of graphs every few seconds
    while select(endpoint, count) != [{"n": "50"}] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert select(endpoint, count) == [{"n": "50"}]
    assert select(virtuoso.sparql, count) == [{"n": "50"}]
