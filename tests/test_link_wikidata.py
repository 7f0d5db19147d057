"""`samverkan link wikidata` against a local Oxigraph server holding a small Wikidata-shaped graph (no network)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from conftest import ROOT, Server, free_port, samverkan, start_oxigraph

from service.linking.wikidata import LINKSET, LINKSET_GRAPH, find_links
from service.namespaces import GRAPH_CATALOGUE
from service.store import EmbeddedStore

FIXTURES = ROOT / "tests" / "fixtures"
WD = "http://www.wikidata.org/entity/"
ID = "https://w3id.org/samverkan/id/"
EXPECTED_LINKS = {
    ID + "kommun/0484": WD + "Q503144",
    ID + "kommun/1980": WD + "Q90000001",
    ID + "kommun/0380": WD + "Q90000006",
    ID + "lan/19": WD + "Q90000010",
    ID + "lan/04": WD + "Q90000011",
    ID + "org/malardalens-hogskola": WD + "Q1546159",
}


def start_wikidata_sample(tmp: Path) -> Server:
    """`oxigraph serve` holding tests/fixtures/wikidata-sample.ttl in its default graph."""
    server = start_oxigraph(tmp)
    response = requests.post(
        server.url + "/store?default",
        data=(FIXTURES / "wikidata-sample.ttl").read_bytes(),
        headers={"Content-Type": "text/turtle"},
        timeout=30,
    )
    assert response.status_code in (200, 201, 204), response.text
    return server


@pytest.fixture(scope="module")
def wikidata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_wikidata_sample(tmp_path_factory.mktemp("wikidata"))
    yield server.url + "/query"
    server.stop()


@pytest.fixture
def store_path(tmp_path: Path) -> str:
    """An on-disk store holding our side of the test: resources with codes (tests/fixtures/linking-ours.ttl)."""
    path = str(tmp_path / "store")
    ours = str(FIXTURES / "linking-ours.ttl")
    run("import", ours, "--graph", "http://example.org/ours", "--store", path)
    return path


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(samverkan(*args), capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def linkset_triples(path: str) -> set[tuple[str, str, str]]:
    result = EmbeddedStore(path).query(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{LINKSET_GRAPH}> {{ ?s ?p ?o }} }}")
    assert isinstance(result, ox.QuerySolutions)
    return {(str(row["s"]), str(row["p"]), str(row["o"])) for row in result}


def links(path: str) -> dict[str, str]:
    exact_match = "<http://www.w3.org/2004/02/skos/core#exactMatch>"
    return {s[1:-1]: o[1:-1] for s, p, o in linkset_triples(path) if p == exact_match and s.startswith(f"<{ID}")}


def test_links_each_code_that_matches_exactly_one_entity(wikidata: str, store_path: str) -> None:
    result = run("link", "wikidata", "--store", store_path, "--endpoint", wikidata)
    assert links(store_path) == EXPECTED_LINKS
    assert "6 links to Wikidata" in result.stdout
    assert "3 codes without an entity, 1 codes with several entities, 1 resources whose codes disagree" in result.stdout


def test_missing_ambiguous_and_disagreeing_codes_are_reported_not_linked(wikidata: str, store_path: str) -> None:
    lines = run("link", "wikidata", "--store", store_path, "--endpoint", wikidata).stdout.splitlines()

    def line_about(text: str) -> str:
        found = [line for line in lines if text in line]
        assert len(found) == 1, (text, lines)
        return found[0]

    assert "no Wikidata entity with P525" in line_about("kommunkod 0114")
    assert "no Wikidata entity with P507" in line_about("länskod 01 ")
    assert "no Wikidata entity with P6460" in line_about("organisationsnummer 556000-0001")
    ambiguous = line_about("kommunkod 0180")
    assert "2 entities" in ambiguous and WD + "Q90000002" in ambiguous and WD + "Q90000003" in ambiguous
    disagreeing = line_about("kommun/0581")
    assert WD + "Q90000004" in disagreeing and WD + "Q90000005" in disagreeing
    linked = links(store_path)
    assert not {ID + "kommun/0180", ID + "kommun/0581", ID + "kommun/0114"} & set(linked)
    assert WD + "Q90000009" not in linked.values()  # the pre-1971 town shares the code but not the class


def test_linkset_is_described_with_void_and_catalogued(wikidata: str, store_path: str) -> None:
    run("link", "wikidata", "--store", store_path, "--endpoint", wikidata)
    store = EmbeddedStore(store_path)
    result = store.query(
        f"""PREFIX void: <http://rdfs.org/ns/void#> PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?predicate ?source ?created ?triples ?subjects ?objects WHERE {{ GRAPH <{LINKSET_GRAPH}> {{
          <{LINKSET}> a void:Linkset ; void:linkPredicate ?predicate ; dcterms:source ?source ;
            dcterms:created ?created ; void:triples ?triples ; void:subjectsTarget ?subjects ;
            void:objectsTarget ?objects .
          ?subjects a void:Dataset . ?objects a void:Dataset ; void:uriSpace "{WD}" }} }}"""
    )
    assert isinstance(result, ox.QuerySolutions)
    rows = list(result)
    assert len(rows) == 1
    row = rows[0]
    assert row["predicate"].value == "http://www.w3.org/2004/02/skos/core#exactMatch"
    assert row["source"].value == wikidata
    assert row["created"].datatype.value == "http://www.w3.org/2001/XMLSchema#date"
    assert int(row["triples"].value) == len(EXPECTED_LINKS)
    catalogued = store.query(f"ASK {{ GRAPH <{GRAPH_CATALOGUE}> {{ <{LINKSET_GRAPH}> ?p ?o }} }}")
    assert bool(catalogued)


def test_linking_again_gives_the_same_graph(wikidata: str, store_path: str) -> None:
    created = "<http://purl.org/dc/terms/created>"
    run("link", "wikidata", "--store", store_path, "--endpoint", wikidata)
    first = linkset_triples(store_path)
    run("link", "wikidata", "--store", store_path, "--endpoint", wikidata)
    second = linkset_triples(store_path)
    assert {t for t in first if t[1] != created} == {t for t in second if t[1] != created}
    assert len(first) == len(second)


def test_codes_are_asked_in_batches(wikidata: str, store_path: str) -> None:
    store = EmbeddedStore(store_path)
    assert find_links(store, wikidata, batch_size=2).links == find_links(store, wikidata, batch_size=100).links


def test_an_endpoint_that_does_not_answer_leaves_the_links_as_they_were(wikidata: str, store_path: str) -> None:
    run("link", "wikidata", "--store", store_path, "--endpoint", wikidata)
    before = linkset_triples(store_path)
    down = f"http://127.0.0.1:{free_port()}/sparql"
    result = run("link", "wikidata", "--store", store_path, "--endpoint", down, ok=False)
    assert down in result.stderr
    assert "the links were not changed" in result.stderr
    assert linkset_triples(store_path) == before


def test_a_store_without_codes_is_refused(wikidata: str) -> None:
    result = run("link", "wikidata", "--endpoint", wikidata, ok=False)
    assert "holds no kommunkod, länskod or organisationsnummer" in result.stderr
