"""A study's graph while it is built from its folder: triples, where each node came from, every problem found."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import OWL, RDF
from rdflib.term import Node

from service.ingest import DataFileError
from service.ingest.sheets import COLUMNS
from service.ingest.validation import Origin
from service.namespaces import ID, ONTOLOGY

SAMV = Namespace(ONTOLOGY)
STUDY_FILE = "study.yaml"


@dataclass
class StudyGraph:
    """What reading a study folder gives: the graph, the origin of each node (for SHACL results), the problems."""

    study_id: str
    title: str = ""
    language: str = "sv"  # of the quotes and names in the sheets
    graph: Graph = field(default_factory=Graph)
    origins: dict[Node, Origin] = field(default_factory=dict)
    problems: list[DataFileError] = field(default_factory=list)
    # Where a partner is coded with different actor types, to point at the rows if the reasoner refuses them.
    type_notes: list[str] = field(default_factory=list)

    @property
    def subject(self) -> URIRef:
        """The study's own IRI."""
        return URIRef(f"{ID}study/{self.study_id}")

    def iri(self, kind: str, key: str) -> URIRef:
        """A node of this study: id/{kind}/{study id}/{key}."""
        return URIRef(f"{ID}{kind}/{self.study_id}/{key}")

    def add(self, *triples: tuple[Node, Node, Node]) -> None:
        for triple in triples:
            self.graph.add(triple)

    def individual(self, iri: URIRef, cls: URIRef, origin: Origin) -> None:
        """A typed owl:NamedIndividual (owlready2 lists only those), remembered with where it came from."""
        self.add((iri, RDF.type, cls), (iri, RDF.type, OWL.NamedIndividual))
        self.origins.setdefault(iri, origin)


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
