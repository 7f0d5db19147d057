"""The comparison table kept with each study (service/ingest/counts.py): the saved comparisons that read it answer
exactly what they answered when they counted over the whole store, and each table is a well-formed Data Cube
written with its study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from conftest import Client
from flask import Flask

from service.catalogue import recorded_digests
from service.http.context import EXTENSION
from service.ingest.schema import Schema
from service.ingest.shipped import shipped_sources
from service.namespaces import GRAPH, ONTOLOGY
from service.parameters import bind

ROOT = Path(__file__).resolve().parents[1]
BEFORE = ROOT / "tests" / "fixtures" / "before-cube"  # the two queries as they were, counting over everything
DIMENSIONS = ["form", "goal", "tool", "topic", "sector"]
QB = "http://purl.org/linked-data/cube#"


def select(client: Client, sparql: str) -> list[dict[str, str]]:
    response = client.post(
        f"{client.url}/sparql", data={"query": sparql}, headers={"Accept": "application/sparql-results+json"}
    )
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in row.items()} for row in response.json()["results"]["bindings"]]


def answer(client: Client, folder: Path, name: str, bindings: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The rows of a query bound as the API binds it; the order of a GROUP_CONCAT is not defined, so the shares are
    read as a set."""
    rows = select(client, bind((folder / f"{name}.rq").read_text(encoding="utf-8"), bindings))
    return [{**row, "shares": frozenset(row["shares"].split(" | "))} if "shares" in row else row for row in rows]


@pytest.fixture(scope="module")
def studies(client: Client) -> list[ox.NamedNode]:
    """Every study, research theme and phase in the shipped and example data."""
    rows = select(
        client,
        f"""SELECT DISTINCT ?study WHERE {{
              {{ ?study a <{ONTOLOGY}Study> }} UNION {{ ?study a <{ONTOLOGY}ResearchTheme> }}
              UNION {{ ?study a <{ONTOLOGY}StudyPhase> }} UNION {{ ?observation <{ONTOLOGY}inStudy> ?study }} }}""",
    )
    assert len(rows) >= 6
    return [ox.NamedNode(row["study"]) for row in rows]


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_compare_studies_answers_as_before(client: Client, studies: list[ox.NamedNode], dimension: str) -> None:
    bindings: dict[str, list[Any]] = {"study": studies, "dimension": [ox.Literal(dimension)]}
    before = answer(client, BEFORE, "compare-studies", bindings)
    assert before
    assert answer(client, ROOT / "queries", "compare-studies", bindings) == before


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_side_by_side_answers_as_before(
    client: Client, studies: list[ox.NamedNode], dimension: str, language: str
) -> None:
    common: dict[str, list[Any]] = {"dimension": [ox.Literal(dimension)], "language": [ox.Literal(language)]}
    for bindings in (common, {**common, "study": studies}, {**common, "study": studies[:2]}):
        before = answer(client, BEFORE, "compare-studies-side-by-side", bindings)
        assert answer(client, ROOT / "queries", "compare-studies-side-by-side", bindings) == before
    assert before or studies[:2]


def test_every_study_source_writes_its_table_with_it(app: Flask, client: Client) -> None:
    """The table is a graph of the study's source: one digest, so it was written in the same replace."""
    study_sources = [s for s in shipped_sources(ROOT) if s.graphs[0].startswith(f"{GRAPH}study/")]
    assert len(study_sources) == 5
    digests = recorded_digests(app.extensions[EXTENSION].store)
    rows = select(client, f"SELECT ?g WHERE {{ GRAPH ?g {{ ?table a <{QB}DataSet> }} }}")
    assert {row["g"] for row in rows} == {s.graphs[2] for s in study_sources}
    for source in study_sources:
        assert source.graphs[2] == source.graphs[0] + "/counts"
        assert digests[source.graphs[0]] == digests[source.graphs[2]]


# The integrity constraints of the RDF Data Cube Vocabulary (https://www.w3.org/TR/vocab-data-cube/#wf-rules) that
# apply to a normalised cube like ours, each an ASK that is true when the constraint is broken.
CONSTRAINTS = {
    "IC-1 unique data set": """ASK { ?obs a qb:Observation .
        { FILTER NOT EXISTS { ?obs qb:dataSet ?d } } UNION { ?obs qb:dataSet ?d1, ?d2 . FILTER(?d1 != ?d2) } }""",
    "IC-2 unique structure": """ASK { ?ds a qb:DataSet .
        { FILTER NOT EXISTS { ?ds qb:structure ?s } } UNION { ?ds qb:structure ?s1, ?s2 . FILTER(?s1 != ?s2) } }""",
    "IC-4 dimensions have range": """ASK { ?dim a qb:DimensionProperty . FILTER NOT EXISTS { ?dim rdfs:range [] } }""",
    "IC-11 all dimensions required": """ASK { ?obs qb:dataSet/qb:structure/qb:component/qb:dimension ?dim .
        FILTER NOT EXISTS { ?obs ?dim [] } }""",
    "IC-12 no duplicate observations": """ASK {
        ?obs1 qb:dataSet ?ds . ?obs2 qb:dataSet ?ds . FILTER(?obs1 != ?obs2)
        FILTER NOT EXISTS { ?ds qb:structure/qb:component/qb:dimension ?dim .
          FILTER NOT EXISTS { ?obs1 ?dim ?v . ?obs2 ?dim ?v } } }""",
    "IC-14 all measures present": """ASK { ?obs qb:dataSet/qb:structure/qb:component/qb:measure ?m .
        FILTER NOT EXISTS { ?obs ?m [] } }""",
    "IC-19 codes from the code list": """ASK { ?obs qb:dataSet/qb:structure/qb:component/qb:dimension ?dim .
        ?dim qb:codeList ?list . ?obs ?dim ?v . FILTER NOT EXISTS { ?v skos:inScheme ?list } }""",
}


@pytest.mark.parametrize("constraint", CONSTRAINTS)
def test_each_table_is_a_well_formed_cube(client: Client, constraint: str) -> None:
    """Each table with the ontology (where the component properties' ranges are declared)."""
    prefixes = (
        f"PREFIX qb: <{QB}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
    )
    tables = [row["g"] for row in select(client, f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?t a <{QB}DataSet> }} }}")]
    assert tables
    for table in tables:
        scoped = f"{prefixes}{CONSTRAINTS[constraint]}".replace(
            "ASK {", f"ASK FROM <{table}> FROM <{GRAPH}ontology> {{", 1
        )
        response = client.post(
            f"{client.url}/sparql", data={"query": scoped}, headers={"Accept": "application/sparql-results+json"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["boolean"] is False, f"{table} breaks {constraint}"


def test_the_table_counts_observations_too(client: Client) -> None:
    """Observations are counted by their own codes (and, for sectors, by the collaboration they describe)."""
    rows = select(
        client,
        f"""PREFIX samv: <{ONTOLOGY}>
            SELECT ?study ?value ?n (COUNT(DISTINCT ?o) AS ?expected) WHERE {{
              ?cell samv:comparedStudy ?study ;
                    samv:comparisonDimension <https://w3id.org/samverkan/id/concept/jamforelsedimension/mal> ;
                    samv:countedConcept ?value ; samv:observationCount ?n .
              OPTIONAL {{ ?o samv:inStudy ?study ; samv:describes [] ;
                         samv:goal|samv:studyCode/(<http://www.w3.org/2004/02/skos/core#exactMatch>|
                         <http://www.w3.org/2004/02/skos/core#closeMatch>|
                         <http://www.w3.org/2004/02/skos/core#broadMatch>) ?value }}
            }} GROUP BY ?study ?value ?n""",
    )
    assert rows and any(int(row["n"]) > 0 for row in rows)
    assert all(int(row["n"]) == int(row["expected"]) for row in rows)


def test_a_study_of_turtle_files_gets_a_table(tmp_path: Path) -> None:
    """A study written in Turtle (like the seed) is counted like any other: its cases' collaborations."""
    source = next(s for s in shipped_sources(ROOT, examples=False) if s.graphs[0].endswith("samverkan-som-strategi"))
    built = {content.graph: content.triples for content in source.contents(source.digest())}
    table = built[source.graphs[2]]
    totals = {
        t.subject.value: int(t.object.value)
        for t in table
        if t.predicate.value == f"{ONTOLOGY}collaborationTotal" and isinstance(t.object, ox.Literal)
    }
    assert totals and all(n > 0 for n in totals.values())
    assert Schema(ROOT).counts_structure[0] in table
