"""A study's comparison table: its collaborations and coded observations by dimension and concept, as a Data Cube.

Comparing studies means counting, for each study, the collaborations that have each form, goal, governance tool,
topic or partner sector, through the study's crosswalk mappings too. Counted over the whole store at every
request, that grew with everything loaded (minutes at a million triples). The counts only change when a study
is loaded, so they are made then, from the study's own graphs, and stored beside them in graph/study/{id}/counts,
written in the same atomic replace, so they cannot disagree with the study. The saved comparisons read them.

The counting is SPARQL (study-counts-totals.rq and study-counts-cells.rq), run on the reasoner's store, which
holds only the study, what was inferred from it and the schema: the same patterns the comparison queries used
to run over everything, grouped and counted by Oxigraph; Python writes the answers as a cube.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox

from service.namespaces import ID, ONTOLOGY, XSD

TOTALS_QUERY = Path(__file__).with_name("study-counts-totals.rq")
CELLS_QUERY = Path(__file__).with_name("study-counts-cells.rq")

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


def _integer(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=INTEGER)


def _select(store: ox.Store, query: Path) -> list[ox.QuerySolution]:
    rows = store.query(query.read_text(encoding="utf-8"))
    assert isinstance(rows, ox.QuerySolutions)
    return list(rows)


def study_counts(study_id: str, store: ox.Store, structure: list[ox.Triple]) -> list[ox.Triple]:
    """The counts graph of one study folder: the structure, then a qb:DataSet per study found in it (a research
    theme with phases has one per part that studies something) with its totals, and a qb:Observation per
    dimension and concept that some collaboration or observation has (zero counts are left out).

    `store` holds in its default graph the folder's graph, what was inferred from it and the schema it was
    reasoned against (the ontology, the vocabularies, the municipalities it names): the reasoner's own store
    (service/ingest/reasoning.py, Inference.store). `structure` is the cube's structure and the dimensions'
    codes (Schema.counts_structure); it is added to that store.
    """
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in structure)
    with ThreadPoolExecutor(1) as pool:  # Oxigraph evaluates without holding the GIL: both queries at once
        counting_totals = pool.submit(_select, store, TOTALS_QUERY)
        cells = _select(store, CELLS_QUERY)
        total_rows = counting_totals.result()
    totals: dict[ox.NamedNode, dict[str, ox.Literal]] = defaultdict(dict)
    for row in total_rows:
        measure, studied, count = (row[v] for v in ("measure", "study", "count"))
        assert isinstance(measure, ox.Literal) and isinstance(studied, ox.NamedNode) and isinstance(count, ox.Literal)
        totals[studied][measure.value] = count  # an xsd:integer
    counted: dict[tuple[ox.NamedNode, ox.NamedNode, ox.NamedNode], dict[str, ox.Literal]] = defaultdict(dict)
    for row in cells:
        measure, studied, dimension, value, count = (
            row[v] for v in ("measure", "study", "dimension", "value", "count")
        )
        assert isinstance(measure, ox.Literal) and isinstance(count, ox.Literal)
        assert isinstance(studied, ox.NamedNode) and isinstance(dimension, ox.NamedNode)
        assert isinstance(value, ox.NamedNode)
        counted[studied, dimension, value][measure.value] = count

    zero = _integer(0)
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
    for (studied, dimension, value), counts in counted.items():
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
