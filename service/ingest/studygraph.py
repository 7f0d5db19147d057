"""A study's graph while it is built from its folder: triples, where each node came from, every problem found.

What SHACL validates (study.yaml, the actors) is kept as rdflib terms, for pyshacl. The rows' triples, two
million for a study of 100,000 rows, are made as pyoxigraph triples straight away: they go on to the reasoner
and the store as such, and an rdflib term costs a Python-level hash wherever it goes (turning them from rdflib
into pyoxigraph at the end took 10 s at 100,000 rows).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF
from rdflib.term import Node

from service.ingest import DataFileError
from service.ingest.schema import to_rdflib
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
    row_triples: set[ox.Triple] = field(default_factory=set)
    origins: dict[Node, Origin] = field(default_factory=dict)
    problems: list[DataFileError] = field(default_factory=list)
    # What the rows' own checks found: the problems SHACL would report on the row nodes.
    shape_problems: list[DataFileError] = field(default_factory=list)
    # Where a partner is coded with different actor types, to point at the rows if the reasoner refuses them.
    type_notes: list[str] = field(default_factory=list)
    # Told each row triple as it is added (StudyText.extend: written and loaded for the reasoner while the rest
    # are built); duplicates included, as the set drops them only here.
    on_rows: Callable[[tuple[ox.Triple, ...]], None] | None = None

    @property
    def subject(self) -> URIRef:
        """The study's own IRI."""
        return URIRef(f"{ID}study/{self.study_id}")

    def iri(self, kind: str, key: str) -> URIRef:
        """A node of this study: id/{kind}/{study id}/{key}."""
        return URIRef(self._node(kind, key))

    def row_node(self, kind: str, key: str) -> ox.NamedNode:
        """A node built from the rows (an observation, a participation), as `iri` names it."""
        return ox.NamedNode(self._node(kind, key))

    def _node(self, kind: str, key: str) -> str:
        return f"{ID}{kind}/{self.study_id}/{key}"

    def add(self, *triples: Triple) -> None:
        """Add triples of study.yaml, the actors or a codebook (what SHACL validates)."""
        self.triples.update(triples)

    def add_rows(self, *triples: ox.Triple) -> None:
        """Add triples of an observation, collaboration or participation: always about one of those nodes (their
        subject), so what else the rows name is among their objects (`named`)."""
        self.row_triples.update(triples)
        if self.on_rows is not None:
            self.on_rows(triples)

    def individual(self, iri: URIRef, cls: URIRef, origin: Origin) -> None:
        """A typed owl:NamedIndividual (owlready2 lists only those), remembered with where it came from."""
        self.add((iri, RDF.type, cls), (iri, RDF.type, OWL.NamedIndividual))
        self.origins.setdefault(iri, origin)

    def row_individual(self, node: ox.NamedNode, cls: ox.NamedNode, origin: Origin) -> None:
        """`individual` for a node built from the rows."""
        self.add_rows(ox.Triple(node, TYPE, cls), ox.Triple(node, TYPE, NAMED_INDIVIDUAL))
        self.origins.setdefault(URIRef(node.value), origin)

    @property
    def graph(self) -> Graph:
        """The whole study as an rdflib Graph (for a look at a small study; the loader does not build one)."""
        graph = to_rdflib(list(self.row_triples))
        for triple in self.triples:
            graph.add(triple)
        return graph

    def named(self) -> set[str]:
        """Every IRI the study names as a subject or object, but the rows' own nodes (the subjects of their triples,
        which nothing outside the study names): for a large study, reading only the objects of its millions of
        row triples halves the time this takes."""
        named = {str(t) for s, _, o in self.triples for t in (s, o) if isinstance(t, URIRef)}
        named.update(o.value for row in self.row_triples if isinstance(o := row.object, ox.NamedNode))
        return named

    def validated_triples(self) -> list[ox.Triple]:
        """What SHACL validates (study.yaml, the actors, a codebook) as pyoxigraph triples, each once."""
        # The builders put IRIs and blank nodes in subject and predicate places only.
        return list({ox.Triple(ox_term(s), ox_iri(p), ox_term(o)) for s, p, o in self.triples})  # type: ignore[arg-type]

    def oxigraph_triples(self, validated: list[ox.Triple] | None = None) -> list[ox.Triple]:
        """The whole study as pyoxigraph triples, each once (`validated`: validated_triples(), if made already)."""
        validated = self.validated_triples() if validated is None else validated
        return [*validated, *self.row_triples.difference(validated)]


@functools.lru_cache(maxsize=1 << 16)
def ox_iri(iri: URIRef) -> ox.NamedNode:
    """An rdflib IRI as a pyoxigraph one."""
    return ox.NamedNode(iri)


TYPE = ox_iri(RDF.type)
NAMED_INDIVIDUAL = ox_iri(OWL.NamedIndividual)


@functools.lru_cache(maxsize=1 << 16)  # the same concepts, actors and properties come back row after row
def ox_term(node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term."""
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
