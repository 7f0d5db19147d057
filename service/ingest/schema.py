"""What a study is read against: the ontology, the vocabularies, the reference list and the SHACL shapes (and the
structure of the comparison table made from it).

Read once per command (or start-up) and only when a study needs them; their files are part of every
study's digest, since a changed ontology can change what a study resolves to and what the reasoner infers.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from service.ingest import read_rdf
from service.ingest.codebook import Codebook
from service.ingest.reference import reference_triples
from service.ingest.resolve import Resolver
from service.namespaces import ONTOLOGY

ONTOLOGY_FILE = Path("ontology", "samverkan.ttl")
VOCABULARIES_FILE = Path("ontology", "vocabularies.ttl")
SHAPES_FILE = Path("ontology", "shapes.ttl")
COUNTIES_FILE = Path("data", "reference", "lan.csv")
MUNICIPALITIES_FILE = Path("data", "reference", "kommuner.csv")
COUNTS_STRUCTURE_FILE = Path("ontology", "study-counts.ttl")
COUNTY = URIRef(ONTOLOGY + "county")


def to_rdflib(triples: list[ox.Triple]) -> Graph:
    """pyoxigraph triples as an rdflib Graph (for pyshacl and owlready2), through N-Triples."""
    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    return Graph().parse(data=data, format="nt")


class Schema:
    """The files under `root` that studies are resolved, validated and reasoned against."""

    FILES = (ONTOLOGY_FILE, VOCABULARIES_FILE, COUNTIES_FILE, MUNICIPALITIES_FILE, SHAPES_FILE, COUNTS_STRUCTURE_FILE)

    def __init__(self, root: Path) -> None:
        self.root = root

    @cached_property
    def term_triples(self) -> list[ox.Triple]:
        """The ontology and the vocabularies, as read."""
        return read_rdf(self.root / ONTOLOGY_FILE) + read_rdf(self.root / VOCABULARIES_FILE)

    @cached_property
    def reference_triples(self) -> list[ox.Triple]:
        """The municipalities and counties, as read."""
        return reference_triples(self.root / COUNTIES_FILE, self.root / MUNICIPALITIES_FILE)

    @cached_property
    def terms(self) -> Graph:
        """The ontology and the vocabularies."""
        return to_rdflib(self.term_triples)

    @cached_property
    def reference(self) -> Graph:
        """The municipalities and counties."""
        return to_rdflib(self.reference_triples)

    @cached_property
    def counts_structure(self) -> list[ox.Triple]:
        """The Data Cube structure of a study's comparison table, with the dimensions' codes (ingest/counts.py)."""
        return read_rdf(self.root / COUNTS_STRUCTURE_FILE)

    @cached_property
    def graph(self) -> Graph:
        """Ontology + vocabularies + reference list: what a study's values resolve against."""
        return self.terms + self.reference

    def beside(self, named: Iterable[str]) -> Graph:
        """What the SHACL shapes and the reasoner need beside a study that names these IRIs (as subjects or
        objects): the ontology, the vocabularies and, of the reference list, the municipalities the study names,
        with their counties.

        Leaving out the other municipalities changes no conclusion about the study (no axiom or shape relates
        individuals the study does not reach) and makes HermiT and pyshacl several times faster.
        """
        iris = {str(n) for n in named}  # rdflib's terms are str, but hash unlike the plain text
        kept = {s for s in set(self.reference.subjects()) if isinstance(s, URIRef) and str(s) in iris}
        kept |= {o for s in kept for o in self.reference.objects(s, COUNTY) if isinstance(o, URIRef)}
        schema = self.terms + Graph()
        for subject in kept:
            for triple in self.reference.triples((subject, None, None)):
                schema.add(triple)
        return schema

    @cached_property
    def shapes(self) -> Graph:
        return to_rdflib(read_rdf(self.root / SHAPES_FILE))

    @cached_property
    def resolver(self) -> Resolver:
        return Resolver(self.graph)

    @cached_property
    def codebook(self) -> Codebook:
        return Codebook(self.graph)
