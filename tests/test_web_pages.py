"""The web pages over HTTP (in this process): JSON twins, language choice, the asset route, and the study comparison
checked against the graph with a query of its own."""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import Client

STUDIES = ["fiktiv-fokusgrupper-2011", "fiktiv-krisberedskap-2021"]
PAGES = ["/", "/queries", "/queries/partner-sectors-by-study", "/compare", "/id/kommun/1980", "/ontology"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_json_twin_and_loads_assets_from_this_service_only(client: Client, path: str) -> None:
    html = client.get(client.url + path, headers={"Accept": "text/html"})
    assert html.status_code == 200
    assert html.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in html.headers["Content-Security-Policy"]
    for url in re.findall(r'<(?:script|img|iframe)[^>]*\ssrc="([^"]*)"', html.text):
        assert url.startswith("/") and not url.startswith("//"), url
    twin_link = re.search(r'<link rel="alternate" type="application/json" href="([^"]*)"', html.text)
    assert twin_link is not None
    twin = client.get(client.url + twin_link.group(1).replace("&amp;", "&"))
    assert twin.headers["Content-Type"].startswith("application/json")
    assert twin.json()
    by_accept = client.get(client.url + path, headers={"Accept": "application/json"})
    assert by_accept.json() == twin.json()


def test_the_editor_twin_lists_prefixes_and_example_queries(client: Client) -> None:
    twin = client.get(client.url + "/", params={"format": "json"}).json()
    assert twin["prefixes"]["samv"] == "https://w3id.org/samverkan/ontology#"
    assert twin["examples"], "the saved queries are offered as examples"
    catalogue = client.get(client.url + "/api/queries").json()["queries"]
    names = {q["name"] for q in catalogue}
    assert {e["name"] for e in twin["examples"]} <= names
    for example in twin["examples"][:3]:  # an example runs as it stands
        answer = client.post(client.url + "/sparql", data={"query": example["sparql"]})
        assert answer.status_code == 200, example["name"]
    shared = client.get(client.url + "/", params={"query": "ASK {}", "format": "json"}).json()
    assert shared["query"] == "ASK {}"
    prefixes = client.get(client.url + "/prefixes.json").json()
    assert prefixes == twin["prefixes"]


def test_language_by_parameter_then_cookie_then_browser(client: Client) -> None:
    session = client.session()
    swedish = session.get(client.url + "/compare", headers={"Accept-Language": "sv"})
    assert '<html lang="sv">' in swedish.text and "Jämför studier" in swedish.text
    english = session.get(client.url + "/compare", params={"lang": "en"})
    assert '<html lang="en">' in english.text and "Compare studies" in english.text
    assert session.cookies.get("lang") == "en"
    remembered = session.get(client.url + "/ontology", headers={"Accept-Language": "sv"})
    assert '<html lang="en">' in remembered.text
    browser = client.get(client.url + "/compare", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in browser.text


def test_assets_serves_the_installed_files_it_names_and_nothing_else(client: Client) -> None:
    for name, media in (
        ("yasgui.min.js", "javascript"),
        ("yasgui.min.css", "text/css"),
        ("chart.umd.min.js", "javascript"),
    ):
        response = client.get(client.url + "/assets/" + name)
        assert response.status_code == 200, name
        assert media in response.headers["Content-Type"]
    for name in ("package.json", "..%2Fpackage.json", "%2E%2E/pyproject.toml", "yasgui.min.js.map"):
        response = client.get(client.url + "/assets/" + name)
        assert response.status_code == 404, name


def count_in_graph(client: Client, study: str, sector_class: str) -> int:
    """Collaborations of a study with a non-municipal participant of a sector, counted independently."""
    query = f"""
        PREFIX samv: <https://w3id.org/samverkan/ontology#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{
          ?o samv:inStudy <https://w3id.org/samverkan/id/study/{study}> ; samv:describes ?c .
          ?c a samv:Collaboration ; samv:participant ?p .
          FILTER NOT EXISTS {{ ?p a samv:Municipality }}
          ?p a/rdfs:subClassOf* samv:{sector_class} .
        }}"""
    answer = client.post(
        client.url + "/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"}
    )
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def test_comparing_two_studies_by_partner_sector_matches_the_graph(client: Client) -> None:
    params = [("study", s) for s in STUDIES] + [("dimension", "sector"), ("lang", "en")]
    twin = client.get(client.url + "/compare", params=[*params, ("format", "json")]).json()
    comparison = twin["comparison"]
    assert [s["id"] for s in comparison["studies"]] == STUDIES
    rows = {row["iri"].rsplit("/", 1)[-1]: row for row in comparison["rows"]}
    classes = {"offentlig-sektor": "PublicSectorActor", "privat-sektor": "PrivateSectorActor"}
    classes["civilsamhallet"] = "CivilSocietyActor"
    for concept, sector_class in classes.items():
        for study, cell in zip(comparison["studies"], rows[concept]["cells"], strict=True):
            expected = count_in_graph(client, study["id"], sector_class)
            assert cell["count"] == expected, (concept, study["id"])
            assert cell["share"] == pytest.approx(expected / study["total"])
            assert cell["ci_low"] <= cell["share"] <= cell["ci_high"]

    table = client.get(client.url + "/compare", params=[*params, ("format", "csv")])
    assert table.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(table.text)))
    assert lines[0][:2] == ["value", "label"]
    assert f"{STUDIES[0]} count" in lines[0] and f"{STUDIES[1]} share" in lines[0]
    assert len(lines) == 1 + len(comparison["rows"])

    page = client.get(client.url + "/compare", params=params)
    assert page.text.count('<th scope="colgroup"') == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([("study", STUDIES[0])], "at least two"),
        ([("study", STUDIES[0]), ("study", "no-such-study")], "no-such-study"),
        ([("study", STUDIES[0]), ("study", STUDIES[1]), ("dimension", "colour")], "colour"),
    ],
)
def test_a_comparison_that_cannot_be_made_says_why(client: Client, params: list[tuple[str, str]], message: str) -> None:
    response = client.get(client.url + "/compare", params=[*params, ("lang", "en")])
    assert response.status_code == 400
    assert 'role="alert"' in response.text and message in response.text
    twin = client.get(client.url + "/compare", params=[*params, ("lang", "en"), ("format", "json")])
    assert twin.status_code == 400 and message in twin.json()["error"]


def test_a_saved_query_page_offers_drop_downs_filled_from_the_graph(client: Client) -> None:
    twin = client.get(
        client.url + "/queries/partner-types-by-municipality", params={"format": "json", "lang": "en"}
    ).json()
    municipalities = {choice["label"]: choice["value"] for choice in twin["choices"]["kommun"]}
    assert municipalities["Västerås"] == "https://w3id.org/samverkan/id/kommun/1980"
    assert len(municipalities) == 290
    studies = {choice["value"] for choice in twin["choices"]["study"]}
    assert "https://w3id.org/samverkan/id/study/fiktiv-krisberedskap-2021" in studies
    page = client.get(client.url + "/queries/partner-types-by-municipality", params={"lang": "en"})
    assert '<label for="param-kommun">' in page.text
    assert "Västerås</option>" in page.text
    missing = client.get(client.url + "/queries/no-such-query")
    assert missing.status_code == 404
