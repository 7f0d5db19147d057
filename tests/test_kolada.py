"""`samverkan import kolada`: Kolada API v2 answers (files, or fetched from a local stand-in) as RDF Data Cube."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest
from conftest import ROOT, samverkan

from service.catalogue import GraphContent, replace_graphs
from service.ingest import DataFileError
from service.ingest.reference import reference_triples
from service.linking.kolada import GRAPH_KOLADA_STRUCTURE, Page, kolada_graph, parse
from service.namespaces import GRAPH_REFERENCE
from service.store import EmbeddedStore

FIXTURES = ROOT / "tests" / "fixtures" / "kolada"
FILES = [FIXTURES / "kpi-N00945.json", FIXTURES / "data-N00945-page1.json", FIXTURES / "data-N00945-page2.json"]
GRAPH = kolada_graph("N00945")
OBSERVATIONS = f"""
PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX kolada: <https://w3id.org/samverkan/kolada#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX samv: <https://w3id.org/samverkan/ontology#>
SELECT ?code ?year ?gender ?value WHERE {{
  GRAPH <{GRAPH}> {{
    ?obs a qb:Observation ; qb:dataSet ?dataset ; kolada:kpi ?kpi ; kolada:municipality ?kommun ;
         kolada:year ?year ; kolada:gender ?g ; kolada:value ?value .
    ?dataset a qb:DataSet ; qb:structure ?structure .
    ?kpi skos:notation "N00945" ; skos:prefLabel "Testnyckeltal, andel (%)"@sv .
  }}
  ?kommun a samv:Municipality ; samv:kommunkod ?code .
  ?g skos:notation ?gender .
  ?structure a qb:DataStructureDefinition .
}}"""
EXPECTED = {
    ("0484", "2020", "K", "45.7"),
    ("0484", "2020", "M", "43.1"),
    ("0484", "2020", "T", "44.4"),
    ("1980", "2020", "M", "41"),
    ("0484", "2021", "T", "46.25"),
    ("0180", "2021", "T", "0.00001"),
}


@pytest.fixture
def store_path(tmp_path: Path) -> str:
    """An on-disk store holding the reference list of municipalities (what Kolada's values attach to)."""
    path = str(tmp_path / "store")
    reference = ROOT / "data" / "reference"
    triples = reference_triples(reference / "lan.csv", reference / "kommuner.csv")
    replace_graphs(EmbeddedStore(path), [GraphContent(GRAPH_REFERENCE, triples, ["data/reference"], "test")])
    return path


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(samverkan(*args), capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def observations(path: str) -> set[tuple[str, ...]]:
    result = EmbeddedStore(path).query(OBSERVATIONS)
    assert isinstance(result, ox.QuerySolutions)
    for row in result:
        assert row["year"].datatype.value == "http://www.w3.org/2001/XMLSchema#gYear"
        assert row["value"].datatype.value == "http://www.w3.org/2001/XMLSchema#decimal"
    result = EmbeddedStore(path).query(OBSERVATIONS)
    assert isinstance(result, ox.QuerySolutions)
    return {(row["code"].value, row["year"].value, row["gender"].value, row["value"].value) for row in result}


def graph_triples(path: str, graph: str) -> set[str]:
    result = EmbeddedStore(path).query(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert isinstance(result, ox.QuerySolutions)
    return {f"{row['s']} {row['p']} {row['o']}" for row in result}


def test_files_become_data_cube_observations_on_our_municipalities(store_path: str) -> None:
    result = run("import", "kolada", *map(str, FILES), "--store", store_path)
    assert observations(store_path) == EXPECTED
    assert "N00945 (Testnyckeltal, andel (%)): 6 observations for 3 municipalities, 2020 to 2021" in result.stdout
    assert "1 values Kolada gives as null" in result.stdout


def test_the_structure_declares_its_dimensions_measure_and_codes(store_path: str) -> None:
    run("import", "kolada", *map(str, FILES), "--store", store_path)
    result = EmbeddedStore(store_path).query(
        f"""PREFIX qb: <http://purl.org/linked-data/cube#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?role ?property ?range WHERE {{ GRAPH <{GRAPH_KOLADA_STRUCTURE}> {{
          ?dsd a qb:DataStructureDefinition ; qb:component ?spec . ?spec ?role ?property .
          ?property a qb:ComponentProperty ; rdfs:range ?range .
          FILTER(?role IN (qb:dimension, qb:measure, qb:attribute)) }} }}"""
    )
    assert isinstance(result, ox.QuerySolutions)
    components = {(row["role"].value.split("#")[1], row["property"].value.split("#")[1]) for row in result}
    assert components == {
        ("dimension", "kpi"),
        ("dimension", "municipality"),
        ("dimension", "year"),
        ("dimension", "gender"),
        ("measure", "value"),
        ("attribute", "status"),
    }


def test_importing_again_gives_the_same_graphs(store_path: str) -> None:
    run("import", "kolada", *map(str, FILES), "--store", store_path)
    first = graph_triples(store_path, GRAPH), graph_triples(store_path, GRAPH_KOLADA_STRUCTURE)
    run("import", "kolada", *map(str, FILES), "--store", store_path)
    assert (graph_triples(store_path, GRAPH), graph_triples(store_path, GRAPH_KOLADA_STRUCTURE)) == first
    assert first[0]


def test_an_unknown_municipality_id_is_reported_and_nothing_is_loaded(store_path: str) -> None:
    bad = FIXTURES / "data-unknown-municipality.json"
    graphs_before = EmbeddedStore(store_path).named_graphs()
    result = run("import", "kolada", str(FILES[0]), str(bad), "--store", store_path, ok=False)
    assert bad.name in result.stderr
    assert "values[1].municipality: '0001'" in result.stderr
    assert "nothing was loaded" in result.stderr
    assert EmbeddedStore(store_path).named_graphs() == graphs_before


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"gender": "X", "status": "", "value": 1}, "values[0].values[0].gender: 'X' is not one of T, K, M"),
        ({"gender": "T", "status": "", "value": "12"}, "values[0].values[0].value: '12' is not a number"),
    ],
)
def test_values_that_are_not_kolada_shaped_are_named(entry: dict[str, Any], problem: str) -> None:
    page = Page("page.json", {"values": [{"kpi": "N00945", "municipality": "0484", "period": 2020, "values": [entry]}]})
    with pytest.raises(DataFileError) as error:
        parse([page], {"0484"})
    assert problem in str(error.value)
    assert "page.json" in str(error.value)


def test_two_different_values_for_one_observation_are_refused() -> None:
    item = {"kpi": "N00945", "municipality": "0484", "period": 2020}
    pages = [
        Page("a.json", {"values": [{**item, "values": [{"gender": "T", "status": "", "value": 1.5}]}]}),
        Page("b.json", {"values": [{**item, "values": [{"gender": "T", "status": "", "value": 2.5}]}]}),
    ]
    with pytest.raises(DataFileError, match=r"is 2\.5 here but 1\.5 in a\.json"):
        parse(pages, {"0484"})


class KoladaStandIn(BaseHTTPRequestHandler):
    """Answers /v2/kpi/{id} and /v2/data/kpi/{id}/municipality/{ids} from the fixture files, two values a page,
    linking the pages with next_page as the real API does."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if parts[:2] == ["v2", "kpi"]:
            known = json.loads(FILES[0].read_text())
            body = known if parts[2] == "N00945" else {"count": 0, "values": []}
        elif parts[:3] == ["v2", "data", "kpi"] and parts[4] == "municipality":
            wanted = set(parts[5].split(","))
            items = [v for f in FILES[1:] for v in json.loads(f.read_text())["values"] if v["municipality"] in wanted]
            page = int(parse_qs(url.query).get("page", ["1"])[0])
            body = {"count": len(items[(page - 1) * 2 : page * 2]), "values": items[(page - 1) * 2 : page * 2]}
            if page * 2 < len(items):
                body["next_page"] = f"http://127.0.0.1:{self.server.server_port}{url.path}?page={page + 1}"
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def kolada_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), KoladaStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v2/"
    server.shutdown()
    server.server_close()


def test_fetched_pages_give_the_same_observations_as_files(store_path: str, kolada_api: str) -> None:
    result = run("import", "kolada", "--fetch", "N00945", "--kolada-url", kolada_api, "--store", store_path)
    assert observations(store_path) == EXPECTED
    assert "6 observations for 3 municipalities" in result.stdout


def test_fetching_an_unknown_kpi_says_so(store_path: str, kolada_api: str) -> None:
    result = run("import", "kolada", "--fetch", "N99999", "--kolada-url", kolada_api, "--store", store_path, ok=False)
    assert "Kolada has no KPI 'N99999'" in result.stderr
