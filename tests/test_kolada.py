"""`samverkan import kolada`: Kolada API v3 answers (files, or fetched from a local stand-in) as RDF Data Cube."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pyoxigraph as ox
import pytest
from conftest import ROOT, samverkan

from service.catalogue import GraphContent, replace_graphs
from service.ingest import DataFileError
from service.ingest.reference import reference_triples
from service.linking.kolada import GRAPH_KOLADA_STRUCTURE, STRUCTURE_FILE, Page, kolada_graph, parse
from service.namespaces import GRAPH_CATALOGUE, GRAPH_REFERENCE
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


def store_contents(path: str) -> set[str]:
    """Every quad of the store (catalogue dates included), to show that a failed import changed nothing."""
    result = EmbeddedStore(path).query("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert isinstance(result, ox.QuerySolutions)
    return {f"{row['g']} {row['s']} {row['p']} {row['o']}" for row in result}


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
    shipped = ox.parse(STRUCTURE_FILE.read_bytes(), format=ox.RdfFormat.TURTLE)
    assert graph_triples(store_path, GRAPH_KOLADA_STRUCTURE) == {
        f"{q.subject} {q.predicate} {q.object}" for q in shipped
    }


def test_the_imported_graph_credits_kolada_as_its_terms_require(store_path: str) -> None:
    run("import", "kolada", *map(str, FILES), "--store", store_path)
    result = EmbeddedStore(store_path).query(
        f"""PREFIX dcterms: <http://purl.org/dc/terms/>
        PREFIX qb: <http://purl.org/linked-data/cube#>
        SELECT ?where WHERE {{
          {{ GRAPH <{GRAPH_CATALOGUE}> {{ <{GRAPH}> dcterms:bibliographicCitation "Källa: Kolada" }}
             BIND("catalogue" AS ?where) }}
          UNION
          {{ GRAPH <{GRAPH}> {{ ?dataset a qb:DataSet ; dcterms:bibliographicCitation "Källa: Kolada" }}
             BIND("dataset" AS ?where) }}
        }}"""
    )
    assert isinstance(result, ox.QuerySolutions)
    assert sorted(row["where"].value for row in result) == ["catalogue", "dataset"]


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


def test_a_v2_answer_is_refused_as_retired(store_path: str) -> None:
    run("import", "kolada", *map(str, FILES), "--store", store_path)
    before = store_contents(store_path)
    v2 = FIXTURES / "v2-answer.json"
    result = run("import", "kolada", str(FILES[0]), str(v2), "--store", store_path, ok=False)
    assert f"{v2}: 1 problem(s), nothing was loaded: a Kolada API v2 answer" in result.stderr
    assert "v2 is retired" in result.stderr and "https://api.kolada.se/v3" in result.stderr
    assert store_contents(store_path) == before


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"gender": "X", "status": "", "value": 1}, "values[0].values[0].gender: 'X' is not one of K, M, T"),
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


PAGE_SIZE = 1  # values per page, so the answer for 0484's block of municipalities spans two pages
MAX_YEARS = 25


class StandInServer(ThreadingHTTPServer):
    """The stand-in's state: every path asked for, and the fault (status, body) its second pages answer with."""

    requested: list[str]
    fault: tuple[int, bytes] | None


class KoladaStandIn(BaseHTTPRequestHandler):
    """Answers /v3/kpi/{id} and /v3/data/kpi/{id}/municipality/{ids}/year/{years} from the fixture files, one value
    a page linked by next_url, and more than 25 years with 400, as Kolada's API v3 does."""

    server: StandInServer

    def do_GET(self) -> None:
        self.server.requested.append(self.path)
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        page = int(query.get("page", "1"))
        if parts[:2] == ["v3", "kpi"]:
            known = json.loads(FILES[0].read_text())
            body: dict[str, Any] = known if parts[2] == "N00945" else {"count": 0, "values": []}
        elif parts[:3] == ["v3", "data", "kpi"] and parts[4] == "municipality" and parts[6] == "year":
            years = parts[7].split(",")
            if len(years) > MAX_YEARS:
                self.answer(400, b'{"error": "at most 25 years"}')
                return
            if page == 2 and self.server.fault:
                self.answer(*self.server.fault)
                return
            wanted = set(parts[5].split(","))
            items = [
                v
                for f in FILES[1:]
                for v in json.loads(f.read_text())["values"]
                if v["municipality"] in wanted and str(v["period"]) in years
            ]
            shown = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
            body = {"count": len(shown), "values": shown}
            if page * PAGE_SIZE < len(items):
                following = urlencode({**query, "page": page + 1})
                body["next_url"] = f"http://127.0.0.1:{self.server.server_port}{url.path}?{following}"
        else:
            self.answer(404, b'{"error": "no such endpoint"}')
            return
        self.answer(200, json.dumps(body).encode())

    def answer(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandInServer]:
    server = StandInServer(("127.0.0.1", 0), KoladaStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def kolada_api(stand_in: StandInServer) -> str:
    stand_in.requested, stand_in.fault = [], None
    return f"http://127.0.0.1:{stand_in.server_port}/v3"


def data_requests(stand_in: StandInServer) -> list[tuple[str, ...]]:
    """The year lists of the first pages of data asked for."""
    paths = [urlsplit(p) for p in stand_in.requested if p.startswith("/v3/data/")]
    return [tuple(p.path.rsplit("/", 1)[1].split(",")) for p in paths if "page" not in parse_qs(p.query)]


def test_fetched_pages_give_the_same_observations_as_files(
    store_path: str, kolada_api: str, stand_in: StandInServer
) -> None:
    result = run("import", "kolada", "--fetch", "N00945", "--kolada-url", kolada_api, "--store", store_path)
    assert observations(store_path) == EXPECTED
    assert "6 observations for 3 municipalities" in result.stdout
    assert any("page=2" in path for path in stand_in.requested)  # 0484's values came on two pages
    assert stand_in.requested[0] == "/v3/kpi/N00945"
    first = {year for block in data_requests(stand_in) for year in block}
    assert first == {str(y) for y in range(1990, date.today().year + 1)}  # the default years


def test_more_than_25_years_are_asked_for_in_blocks(store_path: str, kolada_api: str, stand_in: StandInServer) -> None:
    args = ("--fetch", "N00945", "--years", "1990-2021", "--kolada-url", kolada_api, "--store", store_path)
    run("import", "kolada", *args)
    assert observations(store_path) == EXPECTED
    blocks = set(data_requests(stand_in))
    assert blocks == {tuple(map(str, range(1990, 2015))), tuple(map(str, range(2015, 2022)))}
    municipalities = {urlsplit(p).path.split("/")[6] for p in stand_in.requested if p.startswith("/v3/data/")}
    assert len(municipalities) == 15  # 290 kommunkoder, 20 a request


def test_years_that_are_not_a_span_are_refused(store_path: str, kolada_api: str) -> None:
    args = ("--fetch", "N00945", "--years", "2021-1990", "--kolada-url", kolada_api, "--store", store_path)
    result = run("import", "kolada", *args, ok=False)
    assert "'2021-1990' is not a year or a span of years" in result.stderr


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ((503, b"Service Unavailable"), "Kolada answered HTTP 503 for {url}: Service Unavailable"),
        ((404, b'{"error": "not found"}'), "Kolada answered HTTP 404 for {url}"),
        ((410, b"Gone"), "Kolada answered HTTP 410 for {url} (this API is retired"),
        ((200, b'{"count": 0, "rows": []}'), "Kolada answered HTTP 200 for {url} with not a Kolada API v3 answer"),
        ((200, b"<html>maintenance</html>"), "Kolada answered HTTP 200 for {url}, but not with JSON"),
        (
            (200, json.dumps({"values": [{"kpi": "N00945", "municipality": "0484", "period": 2019}]}).encode()),
            "{url} (HTTP 200): 1 problem(s), nothing was loaded: values[0].values: expected a list",
        ),
    ],
)
def test_a_bad_answer_names_url_and_status_and_stores_nothing(
    store_path: str, kolada_api: str, stand_in: StandInServer, fault: tuple[int, bytes], message: str
) -> None:
    run("import", "kolada", *map(str, FILES), "--store", store_path)
    before = store_contents(store_path)
    stand_in.fault = fault
    result = run("import", "kolada", "--fetch", "N00945", "--kolada-url", kolada_api, "--store", store_path, ok=False)
    second = next(path for path in stand_in.requested if "page=2" in path)
    url = f"http://127.0.0.1:{stand_in.server_port}{second}"
    assert message.format(url=url) in result.stderr
    assert "nothing was loaded" in result.stderr or "Nothing was stored" in result.stderr
    assert store_contents(store_path) == before


def test_fetching_an_unknown_kpi_says_so(store_path: str, kolada_api: str) -> None:
    result = run("import", "kolada", "--fetch", "N99999", "--kolada-url", kolada_api, "--store", store_path, ok=False)
    assert "Kolada has no KPI 'N99999'" in result.stderr
