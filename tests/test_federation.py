"""Federation: SERVICE reaches only the allowed endpoints, and the check finds every endpoint Oxigraph would call.

pyoxigraph 0.5.13 executes SERVICE itself (its own HTTP client, User-Agent Oxigraph/0.5.13, no redirects
followed), so the allow-list check is what stands between a query and the network.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
import requests
from conftest import Client, free_port, in_process
from test_link_wikidata import start_wikidata_sample

from service.config import WIKIDATA_SPARQL
from service.fetch_policy import FetchRefused, check_service_calls, fetches


class Recorder(BaseHTTPRequestHandler):
    """A SPARQL endpoint that answers every query with no rows and remembers which paths were called."""

    called: list[str] = []  # noqa: RUF012 (shared by the handler instances of one server)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Recorder.called.append(self.path)
        body = b'{"head": {"vars": []}, "results": {"bindings": [{}]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def recorder() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


# Queries written to hide or disguise a SERVICE call ({e}: the recording endpoint), with the paths Oxigraph calls.
TRICKY = [
    ("SELECT * WHERE { SERVICE <{e}/plain> { ?s ?p ?o } }", ["/plain"]),
    ("select * where { service silent <{e}/lower-silent> { ?s ?p ?o } }", ["/lower-silent"]),
    ("SELECT * WHERE { SERVICE # a comment\n SILENT # another\n <{e}/between> { ?s ?p ?o } }", ["/between"]),
    ("SELECT * WHERE { SERVICE<{e}/no-space>{ ?s ?p ?o } }", ["/no-space"]),
    ("PREFIX e: <{e}/> SELECT * WHERE { SERVICE e:prefixed { ?s ?p ?o } }", ["/prefixed"]),
    ("PREFIX e: <{e}/> SELECT * WHERE { SERVICE e:esc\\-aped { ?s ?p ?o } }", ["/esc-aped"]),
    ("BASE <{e}/base/> SELECT * WHERE { SERVICE <relative> { ?s ?p ?o } }", ["/base/relative"]),
    ("SELECT * WHERE { SERVICE <{e}\\u002Fescaped-iri> { ?s ?p ?o } }", ["/escaped-iri"]),
    ('SELECT * WHERE { BIND("a\\u0022 AS ?z) SERVICE <{e}/in-string> { ?s ?p ?o } } #" AS ?q) }', []),
    ("SELECT * WHERE { BIND('''SERVICE <{e}/long-string> { ?s ?p ?o }''' AS ?q) }", []),
    ("SELECT * WHERE { # SERVICE <{e}/comment> { ?s ?p ?o }\n }", []),
    (
        "PREFIX ex: <http://x/> SELECT * WHERE { VALUES ?x { ex:a\u3001\\#b } SERVICE <{e}/odd> { ?s ?p ?o } }",
        ["/odd"],
    ),
    ("PREFIX ex: <http://x/> SELECT * WHERE { ?s ex:a.SERVICE <{e}/dotted-name> }", []),
    ("SELECT ?service WHERE { BIND(1 AS ?service) }", []),
    ("SELECT * WHERE { { SELECT * WHERE { OPTIONAL { SERVICE <{e}/sub> { ?s ?p ?o } } } } }", ["/sub"]),
    ("SELECT * WHERE { SERVICE <{e}/outer> { SERVICE <{e}/inner> { ?s ?p ?o } } }", ["/outer"]),
]


@pytest.mark.parametrize(("template", "calls"), TRICKY)
def test_the_check_finds_every_endpoint_oxigraph_calls(recorder: str, template: str, calls: list[str]) -> None:
    query = template.replace("{e}", recorder)
    Recorder.called.clear()
    with contextlib.suppress(SyntaxError, OSError, RuntimeError):  # invalid for Oxigraph: then it calls nothing
        list(ox.Store().query(query))
    assert Recorder.called == calls  # what Oxigraph really does with this text
    found = {f.iri for f in fetches(query) if f.keyword == "SERVICE"}
    assert {recorder + path for path in calls} <= found


def test_the_check_refuses_what_is_not_allowed_and_says_how_to_allow_it() -> None:
    allowed = (WIKIDATA_SPARQL,)
    check_service_calls(f"SELECT * WHERE {{ SERVICE <{WIKIDATA_SPARQL}> {{ ?s ?p ?o }} }}", allowed)
    check_service_calls('SELECT * WHERE { BIND("SERVICE <http://10.0.0.5/sparql> {}" AS ?x) }', allowed)
    with pytest.raises(FetchRefused) as refused:
        check_service_calls("PREFIX x: <http://10.0.0.5/> SELECT * WHERE { SERVICE x:sparql { ?s ?p ?o } }", allowed)
    assert "SERVICE <http://10.0.0.5/sparql>" in str(refused.value)
    assert "--allow-service" in str(refused.value)
    with pytest.raises(FetchRefused, match=r"SERVICE \?endpoint"):
        check_service_calls("SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }", allowed)


POPULATION = """PREFIX samv: <https://w3id.org/samverkan/ontology#>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
SELECT ?code ?population WHERE {
  ?kommun a samv:Municipality ; samv:kommunkod ?code .
  SERVICE <ENDPOINT> { ?item wdt:P525 ?code ; wdt:P1082 ?population }
} ORDER BY ?code"""


@pytest.fixture(scope="module")
def second_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another group's SPARQL endpoint: a Wikidata-shaped graph that joins with ours by kommunkod."""
    server = start_wikidata_sample(tmp_path_factory.mktemp("second-endpoint"))
    yield server.url + "/query"
    server.stop()


@pytest.fixture(scope="module")
def federating_server(second_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    allowed = (WIKIDATA_SPARQL, second_endpoint)
    with in_process(
        tmp_path_factory.mktemp("federating"), load_examples=False, allowed_service_endpoints=allowed
    ) as server:
        yield server


def ask(server: Client, query: str) -> requests.Response:
    return server.post(
        server.url + "/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"}, timeout=60
    )


def test_an_allowed_endpoint_joins_with_our_municipalities(federating_server: Client, second_endpoint: str) -> None:
    response = ask(federating_server, POPULATION.replace("ENDPOINT", second_endpoint))
    assert response.status_code == 200, response.text
    rows = [(b["code"]["value"], b["population"]["value"]) for b in response.json()["results"]["bindings"]]
    assert rows == [("0484", "100001"), ("1980", "150001")]


def test_an_endpoint_not_on_the_allow_list_is_refused(federating_server: Client, tmp_path: Path) -> None:
    elsewhere = f"http://127.0.0.1:{free_port()}/query"
    response = ask(federating_server, POPULATION.replace("ENDPOINT", elsewhere))
    assert response.status_code == 400
    assert f"SERVICE <{elsewhere}>" in response.text
    assert "samverkan serve --allow-service" in response.text
    response = ask(federating_server, "SELECT * WHERE { BIND(<x:y> AS ?e) SERVICE ?e { ?s ?p ?o } }")
    assert response.status_code == 400
    assert "SERVICE ?e" in response.text
