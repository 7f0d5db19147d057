"""A study's comparison table: its collaborations and coded observations by dimension and concept, as a Data Cube.

Comparing studies means counting, for each study, the collaborations that have each form, goal, governance tool,
topic or partner sector, through the study's crosswalk mappings too. Counted over the whole store at every
request, that grew with everything loaded (minutes at a million triples). The counts only change when a study
is loaded, so they are made then, from the study's own graphs, and stored beside them in graph/study/{id}/counts,
written in the same atomic replace, so they cannot disagree with the study. The saved comparisons read them.

The counting is SPARQL (study-counts.rq), run on a store that holds only the study, what was inferred from it
and the schema: the same patterns the comparison queries used to run over everything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox

from service.ingest import read_rdf
from service.namespaces import ID, ONTOLOGY, XSD

QUERY_FILE = Path(__file__).with_name("study-counts.rq")
CUBE_FILE = Path("ontology", "study-counts.ttl")  # under the data root: the structure and the dimensions' codes

QB = "http://purl.org/linked-data/cube#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
STRUCTURE = ox.NamedNode(ID + "study-counts/structure")
INTEGER = ox.NamedNode(XSD + "integer")
MEASURES = {"collaborations": "collaborationCount", "observations": "observationCount"}
TOTALS = {"collaborations": "collaborationTotal", "observations": "observationTotal"}


def _samv(name: str) -> ox.NamedNode:
    return ox.NamedNode(ONTOLOGY + name)


def _qb(name: str) -> ox.NamedNode:
    return ox.NamedNode(QB + name)


def _path(iri: str) -> str:
    """An IRI as a path segment of a cube IRI: its part after id/ when it is ours, else a digest of it."""
    return iri.removeprefix(ID) if iri.startswith(ID) else hashlib.sha256(iri.encode()).hexdigest()[:16]


def cube_structure(root: Path) -> list[ox.Triple]:
    """The Data Cube structure and the comparison dimensions' code list (ontology/study-counts.ttl)."""
    return read_rdf(root / CUBE_FILE)


def study_counts(
    study_id: str, study: Iterable[ox.Triple], schema: Iterable[ox.Triple], structure: list[ox.Triple]
) -> list[ox.Triple]:
    """The counts graph of one study folder: the structure, then a qb:DataSet per study found in it (a research
    theme with phases has one per part that studies something) with its totals, and a qb:Observation per
    dimension and concept that some collaboration or observation has (zero counts are left out).

    `study` is the folder's graph and what was inferred from it; `schema` the ontology, the vocabularies and the
    reference list.
    """
    store = ox.Store()
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in (*study, *schema, *structure))
    rows = store.query(QUERY_FILE.read_text(encoding="utf-8"))
    assert isinstance(rows, ox.QuerySolutions)
    totals: dict[ox.NamedNode, dict[str, ox.Literal]] = {}
    cells: dict[tuple[ox.NamedNode, ox.NamedNode, ox.NamedNode], dict[str, ox.Literal]] = {}
    for row in rows:
        studied, measure, count, dimension, value = (row[v] for v in ("study", "measure", "n", "dimension", "value"))
        assert isinstance(studied, ox.NamedNode) and isinstance(measure, ox.Literal) and isinstance(count, ox.Literal)
        totals.setdefault(studied, {})
        if isinstance(dimension, ox.NamedNode) and isinstance(value, ox.NamedNode):
            cells.setdefault((studied, dimension, value), {})[measure.value] = count
        else:
            totals[studied][measure.value] = count

    zero = ox.Literal("0", datatype=INTEGER)
    triples = list(structure)
    datasets = {studied: ox.NamedNode(f"{ID}study-counts/{study_id}/{_path(studied.value)}") for studied in totals}
    for studied, counts in totals.items():
        dataset = datasets[studied]
        triples += [
            ox.Triple(dataset, RDF_TYPE, _qb("DataSet")),
            ox.Triple(dataset, _qb("structure"), STRUCTURE),
            ox.Triple(dataset, _samv("comparedStudy"), studied),
        ]
        triples += [ox.Triple(dataset, _samv(p), counts.get(m, zero)) for m, p in TOTALS.items()]
    for (studied, dimension, value), counts in cells.items():
        cell = ox.NamedNode(f"{datasets[studied].value}/{_path(dimension.value)}/{_path(value.value)}")
        triples += [
            ox.Triple(cell, RDF_TYPE, _qb("Observation")),
            ox.Triple(cell, _qb("dataSet"), datasets[studied]),
            ox.Triple(cell, _samv("comparedStudy"), studied),
            ox.Triple(cell, _samv("comparisonDimension"), dimension),
            ox.Triple(cell, _samv("countedConcept"), value),
        ]
        triples += [ox.Triple(cell, _samv(p), counts.get(m, zero)) for m, p in MEASURES.items()]
    return triples
