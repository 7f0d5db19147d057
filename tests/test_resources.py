"""Linked-data pages of the service: /id/… and /ontology dereference to HTML, RDF by content negotiation and a
JSON twin; 404 and 406 in plain words; the ontology documentation covers every term of the ontology file."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import rdflib
import requests
from conftest import Client
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD

ROOT = Path(__file__).resolve().parents[1]
SAMV = rdflib.Namespace("https://w3id.org/samverkan/ontology#")
ID = "https://w3id.org/samverkan/id/"
VASTERAS = rdflib.URIRef(ID + "kommun/1980")
VASTMANLAND = rdflib.URIRef(ID + "lan/19")
RDF_FORMATS = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
}


def parse(response: requests.Response, rdflib_format: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=response.content, format=rdflib_format)


@pytest.mark.parametrize("accept", RDF_FORMATS)
def test_a_municipality_in_rdf_by_content_negotiation(client: Client, accept: str) -> None:
    response = client.get(client.url + "/id/kommun/1980", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(accept)
    assert "Accept" in response.headers["Vary"]
    graph = parse(response, RDF_FORMATS[accept])
    assert (VASTERAS, SAMV.county, VASTMANLAND) in graph
    assert (VASTERAS, SAMV.kommunkod, rdflib.Literal("1980")) in graph


def test_an_rdf_client_dereferences_an_iri_of_ours(client: Client) -> None:
    graph = rdflib.Graph().parse(client.url + "/id/lan/19")  # rdflib sends its own Accept header
    assert (VASTMANLAND, SAMV.lanskod, rdflib.Literal("19")) in graph


def test_format_parameter_wins_over_accept(client: Client) -> None:
    response = client.get(client.url + "/id/kommun/1980", params={"format": "turtle"}, headers={"Accept": "text/html"})
    assert response.headers["Content-Type"].startswith("text/turtle")
    assert (VASTERAS, SAMV.county, VASTMANLAND) in parse(response, "turtle")


def test_a_browser_gets_the_page_with_labels_types_county_provenance_and_studies(client: Client) -> None:
    page = client.get(client.url + "/id/kommun/1980", headers={"Accept": "text/html,*/*;q=0.8"}, params={"lang": "sv"})
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "<h1>Västerås</h1>" in html
    assert 'href="/id/lan/19"' in html and "Västmanlands län" in html
    assert "data/reference/kommuner.csv" in html  # provenance: the file the statement was read from
    assert 'href="/id/study/fiktiv-fokusgrupper-2011"' in html  # a study that mentions Västerås


def test_the_json_twin_holds_what_the_page_shows(client: Client) -> None:
    twin = client.get(client.url + "/id/kommun/1980", params={"format": "json", "lang": "en"}).json()
    assert twin["iri"] == str(VASTERAS)
    assert twin["labels"]["sv"] == "Västerås"
    county = next(s for s in twin["statements"] if s["property"]["iri"] == str(SAMV.county))
    assert county["values"][0]["iri"] == str(VASTMANLAND)
    assert county["values"][0]["label"] == "Västmanlands län"
    assert county["property"]["label"] == "county"  # the property's English label, from the ontology
    assert any(g["iri"].endswith("/graph/reference") for g in twin["graphs"])
    studies = {s["iri"] for s in twin["studies"]}
    assert ID + "study/fiktiv-krisberedskap-2021" in studies
    participants = next(link for link in twin["incoming"] if link["property"]["iri"] == str(SAMV.participant))
    assert participants["subjects"], "the collaborations Västerås takes part in link to it"
    same = client.get(client.url + "/id/kommun/1980", headers={"Accept": "application/json"}).json()
    assert same["iri"] == twin["iri"]


def test_statements_only_the_reasoner_made_are_kept_apart(client: Client) -> None:
    twin = client.get(client.url + "/id/kommun/1980", params={"format": "json"}).json()
    inferred = [v for s in twin["inferred"] for v in s["values"]]
    assert inferred, "the reasoner infers facts about a municipality that takes part in collaborations"
    assert all(all(g.endswith("/inferred") for g in v["graphs"]) for v in inferred)
    asserted = [v for s in twin["statements"] for v in s["values"]]
    assert all(any(not g.endswith("/inferred") for g in v["graphs"]) for v in asserted)


def test_an_unknown_iri_is_404_in_every_form(client: Client) -> None:
    url = client.url + "/id/kommun/9999"
    page = client.get(url, headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "https://w3id.org/samverkan/id/kommun/9999" in page.text
    twin = client.get(url, params={"format": "json"})
    assert twin.status_code == 404 and twin.json()["iri"] == ID + "kommun/9999"
    assert client.get(url, headers={"Accept": "text/turtle"}).status_code == 404
    odd = client.get(client.url + "/id/a%3Eb%20c", headers={"Accept": "text/turtle"})
    assert odd.status_code == 404  # not an IRI of ours: never pasted into a query


def test_a_format_it_cannot_give_is_406_with_the_formats_it_can(client: Client) -> None:
    response = client.get(client.url + "/id/kommun/1980", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.text and "text/html" in response.text
    unknown = client.get(client.url + "/ontology", params={"format": "yaml"})
    assert unknown.status_code == 406
    assert "turtle" in unknown.text


@pytest.fixture(scope="module")
def ontology_file() -> rdflib.Graph:
    return rdflib.Graph().parse(ROOT / "ontology" / "samverkan.ttl")


@pytest.mark.parametrize("accept", ["text/turtle", "application/rdf+xml", "application/ld+json"])
def test_the_ontology_iri_gives_the_ontology_file_in_rdf(
    client: Client, ontology_file: rdflib.Graph, accept: str
) -> None:
    response = client.get(client.url + "/ontology", headers={"Accept": accept})
    assert response.status_code == 200
    served = parse(response, RDF_FORMATS[accept])
    assert len(served) == len(ontology_file)
    # Oxigraph stores integers of derived types (the cardinalities' xsd:nonNegativeInteger) as xsd:integer.
    expected = rdflib.Graph()
    for s, p, o in ontology_file:
        if isinstance(o, rdflib.Literal) and o.datatype == XSD.nonNegativeInteger:
            o = rdflib.Literal(str(o), datatype=XSD.integer)
        expected.add((s, p, o))
    assert isomorphic(served, expected)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_ontology_page_documents_every_class_property_and_concept_scheme(
    client: Client, ontology_file: rdflib.Graph, lang: str
) -> None:
    page = client.get(client.url + "/ontology", params={"lang": lang}, headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.text
    terms = {
        s
        for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
        for s in ontology_file.subjects(RDF.type, kind)
        if isinstance(s, rdflib.URIRef) and s.startswith(str(SAMV))
    }
    assert len(terms) > 50
    for term in terms:  # pyLODE's entry, anchored at the term's own fragment, with its label in the language
        name = term[len(str(SAMV)) :]
        assert f'id="{name}"' in html, f"{name} has no entry"
        labels = [str(o) for o in ontology_file.objects(term, RDFS.label) if getattr(o, "language", None) == lang]
        assert labels and labels[0] in html, f"{name} has no {lang} label on the page"
    vocabularies = rdflib.Graph().parse(ROOT / "ontology" / "vocabularies.ttl")
    for scheme in vocabularies.subjects(RDF.type, SKOS.ConceptScheme):
        assert f'href="/id/{scheme[len(ID) :]}"' in html
        for concept in vocabularies.subjects(SKOS.inScheme, scheme):
            assert f'href="/id/{concept[len(ID) :]}"' in html
    assert "<svg" in html and "Samverkan" in html


def test_the_diagram_is_drawn_from_the_ontology(client: Client, ontology_file: rdflib.Graph) -> None:
    response = client.get(client.url + "/ontology/diagram.svg", params={"lang": "en"})
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    svg = ET.fromstring(response.content)
    links = {a.get("href") for a in svg.iter("{http://www.w3.org/2000/svg}a")}
    texts = "".join(svg.itertext())
    domains = {
        s
        for p in ontology_file.subjects(RDF.type, OWL.ObjectProperty)
        if str(p).startswith(str(SAMV))
        for s in ontology_file.objects(p, RDFS.domain)
        if isinstance(s, rdflib.URIRef)
    }
    for cls in domains:  # every class an object property starts from is in the picture, linked to its entry
        assert f"/ontology#{cls[len(str(SAMV)) :]}" in links
    for prop in ("county", "participant", "in study", "describes"):  # relations by their English labels
        assert prop in texts


def test_concepts_and_schemes_dereference(client: Client) -> None:
    scheme = client.get(client.url + "/id/scheme/samverkansform", params={"format": "json"}).json()
    members = next(link for link in scheme["incoming"] if link["property"]["iri"].endswith("#inScheme"))
    assert any(s["iri"].endswith("/kommunalforbund") for s in members["subjects"])
    concept = client.get(client.url + "/id/concept/samverkansform/kommunalforbund", headers={"Accept": "text/turtle"})
    graph = parse(concept, "turtle")
    assert (rdflib.URIRef(ID + "concept/samverkansform/kommunalforbund"), SKOS.prefLabel, None) in graph


def test_pages_load_nothing_from_another_host(client: Client) -> None:
    for path in ("/id/kommun/1980", "/ontology"):
        response = client.get(client.url + path, headers={"Accept": "text/html"})
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        for url in re.findall(r'<(?:script|img|iframe)[^>]*\ssrc="([^"]*)"', response.text):
            assert url.startswith("/") and not url.startswith("//"), url
        for tag in re.findall(r"<link[^>]*>", response.text):
            href = re.search(r'href="([^"]*)"', tag)
            assert href and (href.group(1).startswith(("/", "data:"))), tag


def test_pages_work_the_same_on_a_remote_sparql_server(remote_client: Client) -> None:
    twin = remote_client.get(remote_client.url + "/id/kommun/1980", params={"format": "json", "lang": "sv"}).json()
    county = next(s for s in twin["statements"] if s["property"]["iri"] == str(SAMV.county))
    assert county["values"][0]["label"] == "Västmanlands län"
    graph = parse(remote_client.get(remote_client.url + "/id/kommun/1980", headers={"Accept": "text/turtle"}), "turtle")
    assert (VASTERAS, SAMV.county, VASTMANLAND) in graph
    page = remote_client.get(remote_client.url + "/ontology", params={"lang": "en"}, headers={"Accept": "text/html"})
    assert 'id="Municipality"' in page.text and "<svg" in page.text
