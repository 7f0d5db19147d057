"""The shipped graph as a researcher meets it: queried with SPARQLWrapper over HTTP from the service."""

from __future__ import annotations

import pytest
from conftest import Client
from SPARQLWrapper import JSON, SPARQLWrapper

PREFIXES = """PREFIX samv: <https://w3id.org/samverkan/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""


@pytest.fixture(scope="module")
def select(client: Client):  # type: ignore[no-untyped-def]
    def run(query: str) -> list[dict[str, str]]:
        wrapper = SPARQLWrapper(client.url + "/sparql")
        wrapper.setQuery(PREFIXES + query)
        wrapper.setReturnFormat(JSON)
        rows = wrapper.queryAndConvert()["results"]["bindings"]
        return [{k: v["value"] for k, v in row.items()} for row in rows]

    return run


def test_290_municipalities_with_unique_codes_in_21_counties(select) -> None:  # type: ignore[no-untyped-def]
    rows = select(
        "SELECT ?kod ?lan ?id WHERE { ?m a samv:Municipality ; samv:kommunkod ?kod ; dcterms:identifier ?id ;"
        " samv:county ?c . ?c samv:lanskod ?lan }"
    )
    codes = [row["kod"] for row in rows]
    assert len(codes) == 290
    assert len(set(codes)) == 290
    assert all(len(code) == 4 and code.isdigit() for code in codes)
    assert all(row["kod"].startswith(row["lan"]) and row["id"] == row["kod"] for row in rows)
    counties = select("SELECT DISTINCT ?lan WHERE { ?c a samv:County ; samv:lanskod ?lan }")
    assert len(counties) == 21
    assert {row["lan"] for row in rows} == {row["lan"] for row in counties}


def test_vasteras_is_in_vastmanlands_lan(select) -> None:  # type: ignore[no-untyped-def]
    rows = select(
        "SELECT ?name ?official ?county ?lan WHERE { <https://w3id.org/samverkan/id/kommun/1980> rdfs:label ?name ;"
        " samv:officialName ?official ; samv:county ?c . ?c rdfs:label ?county ; samv:lanskod ?lan }"
    )
    assert rows == [{"name": "Västerås", "official": "Västerås stad", "county": "Västmanlands län", "lan": "19"}]


def test_samhallskontraktet_has_its_three_founding_parties(select) -> None:  # type: ignore[no-untyped-def]
    rows = select(
        "SELECT ?party WHERE { ?agreement a samv:Agreement ; samv:party ?p . ?p rdfs:label ?party . "
        "FILTER(lang(?party) = 'sv' || lang(?party) = '') "
        "?c samv:agreement ?agreement ; rdfs:label 'Samhällskontraktet'@sv }"
    )
    parties = sorted(row["party"] for row in rows)
    assert parties == ["Eskilstuna", "Mälardalens universitet", "Västerås"]
    joined = select(
        "SELECT DISTINCT ?name ?start WHERE { ?c rdfs:label 'Samhällskontraktet'@sv ; samv:hasParticipation ?p . "
        "?p samv:participationOf ?actor ; samv:startDate ?start . ?actor rdfs:label ?name "
        "FILTER(STR(?start) >= '2014') }"
    )
    assert sorted(row["name"] for row in joined) == ["Landstinget Sörmland", "Region Västmanland"]


def test_the_two_research_questions_word_for_word(select) -> None:  # type: ignore[no-untyped-def]
    rows = select(
        "SELECT ?text WHERE { <https://w3id.org/samverkan/id/phase/samverkan-som-strategi-fas-1> "
        "samv:researchQuestion ?q . ?q samv:questionText ?text FILTER(lang(?text) = 'sv') }"
    )
    assert sorted(row["text"] for row in rows) == [
        "Hur leder och styr kommuner samverkansaktiviteter?",
        "Med vilka typer av aktörer samverkar kommuner om vad och med vilka syften?",
    ]


def test_the_theme_leader_is_the_contact(select) -> None:  # type: ignore[no-untyped-def]
    rows = select(
        "SELECT ?name ?org WHERE { ?theme a samv:ResearchTheme ; samv:themeLeader ?p . ?p rdfs:label ?name ; "
        "<http://www.w3.org/ns/org#memberOf> ?o . ?o rdfs:label ?org FILTER(lang(?org) = 'sv') }"
    )
    assert rows == [{"name": "Maria Mårtensson", "org": "Mälardalens universitet"}]
