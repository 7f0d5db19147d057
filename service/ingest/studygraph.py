"""A study's graph while it is built from its folder: triples, where each node came from, every problem found.

The triples are kept in sets of rdflib terms, not in an rdflib Graph: a study of 100,000 rows has two million
triples, and a Graph's indexes cost ten times a set's to fill. They go on to the store as pyoxigraph triples.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF
from rdflib.term import Node

from service.ingest import DataFileError
from service.ingest.sheets import COLUMNS
from service.ingest.validation import Origin
from service.namespaces import ID, ONTOLOGY

SAMV = Namespace(ONTOLOGY)
STUDY_FILE = "study.yaml"
Triple = tuple[Node, Node, Node]


@dataclass
class StudyGraph:
    """What reading a study folder gives: the graph, the origin of each node (for SHACL results), the problems."""

    study_id: str
    title: str = ""
    language: str = "sv"  # of the quotes and names in the sheets
    # What SHACL validates: study.yaml, the actors, a REFI-QDA project's own codebook.
    triples: set[Triple] = field(default_factory=set)
    # The observations, collaborations and participations built from the rows: checked while they are built
    # (service/ingest/study.py), as SHACL would check them, since pyshacl takes minutes over 100,000 rows.
    row_triples: set[Triple] = field(default_factory=set)
    origins: dict[Node, Origin] = field(default_factory=dict)
    problems: list[DataFileError] = field(default_factory=list)
    # What the rows' own checks found: the problems SHACL would report on the row nodes.
    shape_problems: list[DataFileError] = field(default_factory=list)
    # Where a partner is coded with different actor types, to point at the rows if the reasoner refuses them.
    type_notes: list[str] = field(default_factory=list)

    @property
    def subject(self) -> URIRef:
        """The study's own IRI."""
        return URIRef(f"{ID}study/{self.study_id}")

    def iri(self, kind: str, key: str) -> URIRef:
        """A node of this study: id/{kind}/{study id}/{key}."""
        return URIRef(f"{ID}{kind}/{self.study_id}/{key}")

    def add(self, *triples: Triple, row_node: bool = False) -> None:
        """Add triples; `row_node` for those of an observation, collaboration or participation."""
        (self.row_triples if row_node else self.triples).update(triples)

    def individual(self, iri: URIRef, cls: URIRef, origin: Origin, *, row_node: bool = False) -> None:
        """A typed owl:NamedIndividual (owlready2 lists only those), remembered with where it came from."""
        self.add((iri, RDF.type, cls), (iri, RDF.type, OWL.NamedIndividual), row_node=row_node)
        self.origins.setdefault(iri, origin)

    @property
    def graph(self) -> Graph:
        """The whole study as an rdflib Graph (for a look at a small study; the loader does not build one)."""
        graph = Graph()
        for triple in itertools.chain(self.triples, self.row_triples):
            graph.add(triple)
        return graph

    def named(self) -> set[URIRef]:
        """Every IRI the study names as a subject or object."""
        return {t for ts in (self.triples, self.row_triples) for s, _, o in ts for t in (s, o) if isinstance(t, URIRef)}

    def oxigraph_triples(self) -> list[ox.Triple]:
        """The whole study as pyoxigraph triples, each term converted once."""
        terms: dict[Node, ox.NamedNode | ox.BlankNode | ox.Literal] = {}

        def term(node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
            found = terms.get(node)
            if found is None:
                found = terms[node] = _oxigraph_term(node)
            return found

        rows = (t for t in self.row_triples if t not in self.triples)
        # The builders put IRIs and blank nodes in subject and predicate places only.
        return [ox.Triple(term(s), term(p), term(o)) for s, p, o in itertools.chain(self.triples, rows)]  # type: ignore[arg-type]


def _oxigraph_term(node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(node, URIRef):
        return ox.NamedNode(node)
    if isinstance(node, BNode):
        return ox.BlankNode(node)
    assert isinstance(node, Literal), node
    if node.language:
        return ox.Literal(node, language=node.language)
    return ox.Literal(node, datatype=ox.NamedNode(node.datatype) if node.datatype else None)


class StudyProblems(DataFileError):
    """A study that cannot be loaded, with every problem found (each a DataFileError naming file/row/column)."""

    def __init__(self, folder: Path, problems: list[DataFileError]) -> None:
        self.problems = sorted(problems, key=_problem_order)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        listing = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(folder, f"{count}; nothing was loaded:\n{listing}")


def _problem_order(problem: DataFileError) -> tuple[bool, str, int, int]:
    """study.yaml first, then by file, row, and column in the order the template has them."""
    column = COLUMNS.index(problem.column) if problem.column in COLUMNS else -1
    return (not problem.path.endswith(STUDY_FILE), problem.path, problem.row or 0, column)
