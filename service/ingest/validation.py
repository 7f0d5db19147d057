"""SHACL validation of a study graph (ontology/shapes.ttl, pyshacl), reported where a researcher can fix it.

Each node a study builds remembers the sheet row (or study.yaml entry) it came from, and each property the
sheet column it was coded in, so a SHACL result on a node becomes "file, row, column: message".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyshacl
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SH
from rdflib.term import Node

from service.ingest import DataFileError
from service.namespaces import ONTOLOGY

SHAPES = "https://w3id.org/samverkan/shapes#"

# The sheet column each property of a study graph is coded in.
COLUMN_OF: dict[URIRef, str] = {
    URIRef(ONTOLOGY + "participant"): "partner",
    URIRef(ONTOLOGY + "leadActor"): "lead_actor",
    URIRef(ONTOLOGY + "form"): "form",
    URIRef(ONTOLOGY + "topic"): "topic",
    URIRef(ONTOLOGY + "goal"): "goals",
    URIRef(ONTOLOGY + "governanceTool"): "governance_tools",
    URIRef(ONTOLOGY + "coder"): "coder",
    URIRef(ONTOLOGY + "quote"): "quote",
    URIRef(ONTOLOGY + "sourceLocation"): "location",
    URIRef(ONTOLOGY + "organisationsnummer"): "partner_orgnr",
    URIRef(ONTOLOGY + "describes"): "collaboration",
    URIRef(ONTOLOGY + "inStudy"): "observation",
    URIRef(ONTOLOGY + "participationOf"): "partner",
    URIRef(ONTOLOGY + "hasParticipation"): "partner",
    PROV.wasGeneratedBy: "source",
    DCTERMS.identifier: "observation",
    RDFS.label: "collaboration",
}


@dataclass(frozen=True)
class Origin:
    """Where a node of a study graph came from: a sheet row, or an entry of study.yaml (`row` None)."""

    path: Path
    what: str  # how to name the node in a message, e.g. "collaboration 'Samhällskontraktet'"
    row: int | None = None
    column: str | None = None

    def error(self, message: str, column: str | None = None) -> DataFileError:
        if self.row is None:
            return DataFileError(self.path, f"{self.what}: {message}")
        return DataFileError(self.path, f"{self.what}: {message}", row=self.row, column=column or self.column)


class ShapeResults:
    """The problem SHACL reports when a property shape of shapes.ttl fails, for the checks the rows make
    themselves while a study is built: the same message, on the same file, row and column."""

    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes

    def problem(self, origin: Origin, shape: str) -> DataFileError:
        """`shape` is the property shape's local name in shapes.ttl, e.g. Observation-coder."""
        iri = URIRef(SHAPES + shape)
        message = self.shapes.value(iri, SH.message)
        if message is None:
            raise KeyError(f"shapes.ttl has no property shape {shape} with a message")
        path = _first_property(self.shapes, self.shapes.value(iri, SH.path))
        return origin.error(str(message), COLUMN_OF.get(path) if path is not None else None)


def validate(
    data: Graph, schema: Graph, shapes: Graph, origins: Mapping[Node, Origin], folder: Path
) -> list[DataFileError]:
    """Every SHACL violation of `data` (seen beside `schema`), as problems located in the study's files.

    A node the study did not build from a row or study.yaml (there should be none) is reported on the folder.
    """
    # The schema's triples are added to the study's graph for the validation and taken out again, rather than
    # both being copied into a new graph: the study is by far the larger, and a copy of it costs time and memory.
    lent = [triple for triple in schema if triple not in data]
    data.addN((s, p, o, data) for s, p, o in lent)
    try:
        conforms, report, _ = pyshacl.validate(
            data, shacl_graph=shapes, inference="none", inplace=True, allow_infos=True, allow_warnings=True
        )
        if conforms:
            return []
        return _problems(report, data, origins, folder)
    finally:
        for triple in lent:
            data.remove(triple)


def _problems(
    report: Graph | str | bytes, combined: Graph, origins: Mapping[Node, Origin], folder: Path
) -> list[DataFileError]:
    """The results of a SHACL report, each located where its focus node came from."""
    assert isinstance(report, Graph)
    problems = []
    for result in report.objects(None, SH.result):  # not the nested sh:detail results of sh:node
        focus = report.value(result, SH.focusNode)
        path = _first_property(report, report.value(result, SH.resultPath))
        message = str(report.value(result, SH.resultMessage) or "does not conform to the shapes")
        column = COLUMN_OF.get(path) if path is not None else None
        origin = origins.get(focus) if focus is not None else None
        if origin is None:
            problems.append(DataFileError(folder, f"{_name(focus, combined)}: {message}"))
        else:
            problems.append(origin.error(message, column))
    return problems


def _first_property(report: Graph, path: Node | None) -> URIRef | None:
    """The property a SHACL path starts with: itself, or the first of a sequence or alternative path."""
    while path is not None and not isinstance(path, URIRef):
        alternatives = report.value(path, SH.alternativePath)
        path = report.value(alternatives if alternatives is not None else path, RDF.first)
    return path


def _name(node: Node | None, graph: Graph) -> str:
    """A node without an origin (not built from the study's files), named by its label or IRI."""
    label = graph.value(node, RDFS.label) if node is not None else None
    return f"'{label}'" if isinstance(label, Literal) else f"<{node}>"
