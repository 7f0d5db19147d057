"""The saved queries that use the links (queries/*.rq), run through the saved-query API on a live server whose
store holds the shipped data, the Wikidata links and a Kolada key figure; Wikidata is a local stand-in."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ROOT, Client, in_process, samverkan, serve_settings
from test_link_wikidata import start_wikidata_sample

from service.config import WIKIDATA_SPARQL

QUERIES = [
    "collaborations-and-kolada",
    "municipalities-wikidata-population",
    "actors-with-organisation-numbers",
    "study-municipalities-by-county",
]
KOLADA_FILES = sorted((ROOT / "tests" / "fixtures" / "kolada").glob("*-N00945*.json"))
WD = "http://www.wikidata.org/entity/"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """Our service on an on-disk store, linked to a Wikidata stand-in that SERVICE may reach, with Kolada data.

    The curated queries are served from a copy in which the federated one calls the stand-in, not Wikidata."""
    tmp = tmp_path_factory.mktemp("linked-queries")
    wikidata = start_wikidata_sample(tmp_path_factory.mktemp("wikidata-stand-in"))
    sample = wikidata.url + "/query"
    queries = tmp / "queries"
    queries.mkdir()
    for name in QUERIES:
        text = (ROOT / "queries" / f"{name}.rq").read_text(encoding="utf-8")
        (queries / f"{name}.rq").write_text(text.replace(WIKIDATA_SPARQL, sample), encoding="utf-8")
    store = str(tmp / "store")
    with pytest.MonkeyPatch.context() as env:  # the allow-list from the environment (test_federation: the option)
        env.setenv("SAMVERKAN_ALLOW_SERVICE", f"http://127.0.0.1:1/unused {sample}")
        settings = serve_settings("--store", store, "--no-examples", "--queries-dir", str(queries))
    with in_process(tmp, **settings) as ours:
        for args in (
            ("link", "wikidata", "--store", store, "--endpoint", sample),
            ("import", "kolada", *map(str, KOLADA_FILES), "--store", store),
        ):
            done = subprocess.run(samverkan(*args), capture_output=True, text=True, timeout=120, cwd=ROOT)
            assert done.returncode == 0, done.stderr
        yield ours
    wikidata.stop()


def rows(server: Client, name: str, **parameters: str) -> list[dict[str, str]]:
    response = server.get(
        f"{server.url}/api/queries/{name}",
        params=parameters,
        headers={"Accept": "application/sparql-results+json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    bindings: list[dict[str, Any]] = response.json()["results"]["bindings"]
    return [{key: value["value"] for key, value in row.items()} for row in bindings]


def test_collaborations_next_to_a_kolada_key_figure(server: Client) -> None:
    found = {row["kommunkod"]: row for row in rows(server, "collaborations-and-kolada", kpi="N00945")}
    assert (found["0484"]["year"], found["0484"]["value"]) == ("2021", "46.25")  # the latest year with a total
    assert int(found["0484"]["collaborations"]) >= 1
    assert "value" not in found["1980"]  # a value for men only, no total
    assert int(found["1980"]["collaborations"]) >= 1
    assert found["0180"]["collaborations"] == "0"
    assert found["0180"]["kpiTitle"] == "Testnyckeltal, andel (%)"


def test_municipalities_with_their_wikidata_entity_and_population(server: Client) -> None:
    found = [(row["kommunkod"], row["wikidata"], row["population"]) for row in rows(server, QUERIES[1])]
    assert found == [("0484", WD + "Q503144", "100001"), ("1980", WD + "Q90000001", "150001")]


def test_actors_with_organisation_numbers(server: Client) -> None:
    found = {row["organisationsnummer"]: row for row in rows(server, "actors-with-organisation-numbers")}
    assert found["202100-2916"]["wikidata"] == WD + "Q1546159"
    assert found["212000-0357"]["wikidata"] == WD + "Q503144"
    assert found["212000-0357"]["actor"] == "https://w3id.org/samverkan/id/kommun/0484"


def test_the_studies_municipalities_by_county(server: Client) -> None:
    found = rows(server, "study-municipalities-by-county", study="samverkan-som-strategi")
    by_county = {row["lanskod"]: row for row in found}
    assert by_county["04"]["kommunkoder"] == "0484"
    assert by_county["19"]["kommunkoder"] == "1980"
    assert by_county["19"]["lanWikidata"] == WD + "Q90000010"


def test_every_linking_query_is_in_the_catalogue(server: Client) -> None:
    listed = server.get(f"{server.url}/api/queries", timeout=30).json()
    names = {entry["name"] for entry in (listed["queries"] if isinstance(listed, dict) else listed)}
    assert set(QUERIES) <= names


def test_the_federated_query_is_marked_as_needing_the_network() -> None:
    text = (ROOT / "queries" / "municipalities-wikidata-population.rq").read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#+ tags:")]
    assert header and "needs-network" in header[0]
    assert f"SERVICE <{WIKIDATA_SPARQL}>" in text
