"""The catalogue graph: a VoID description of every named graph (source, digest, date, size), and the
one place that replaces graphs together with their descriptions, atomically."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox

from service import collector
from service.namespaces import GRAPH_CATALOGUE, ONTOLOGY, RDF_TYPE, XSD
from service.store import Store

A = ox.NamedNode(RDF_TYPE)
VOID_DATASET = ox.NamedNode("http://rdfs.org/ns/void#Dataset")
VOID_TRIPLES = ox.NamedNode("http://rdfs.org/ns/void#triples")
DCT_SOURCE = ox.NamedNode("http://purl.org/dc/terms/source")
DCT_MODIFIED = ox.NamedNode("http://purl.org/dc/terms/modified")
DCT_TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
DCT_CITATION = ox.NamedNode("http://purl.org/dc/terms/bibliographicCitation")
SOURCE_DIGEST = ox.NamedNode(ONTOLOGY + "sourceDigest")


@dataclass(frozen=True)
class GraphContent:
    """New content for one named graph and what the catalogue should say about where it came from."""

    graph: str
    triples: Sequence[ox.Triple]
    sources: Sequence[str]
    digest: str
    title: str | None = None
    citation: str | None = None  # how users must credit the source, when its terms ask for it ("Källa: Kolada")
    ntriples: list[bytes] | None = None  # the triples written as N-Triples already (Replacement.put), if they were

    def description(self, now: datetime) -> list[ox.Triple]:
        g = ox.NamedNode(self.graph)
        triples = [
            ox.Triple(g, A, VOID_DATASET),
            ox.Triple(g, VOID_TRIPLES, ox.Literal(str(len(self.triples)), datatype=ox.NamedNode(XSD + "integer"))),
            ox.Triple(g, DCT_MODIFIED, ox.Literal(now.isoformat(), datatype=ox.NamedNode(XSD + "dateTime"))),
            ox.Triple(g, SOURCE_DIGEST, ox.Literal(self.digest)),
        ]
        triples += [ox.Triple(g, DCT_SOURCE, ox.Literal(source)) for source in self.sources]
        if self.title:
            triples.append(ox.Triple(g, DCT_TITLE, ox.Literal(self.title)))
        if self.citation:
            triples.append(ox.Triple(g, DCT_CITATION, ox.Literal(self.citation)))
        return triples


def _ntriples(triples: Sequence[ox.Triple]) -> str:
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")  # type: ignore[union-attr]


@contextmanager
def replacing(store: Store, graphs: Collection[str]) -> Iterator[Callable[[GraphContent], None]]:
    """Replace the graphs and their catalogue entries with the contents the block puts, at once: all of it
    lands, or none. Each content's triples go to the store's bulk path as soon as it is put (in the background,
    while the block goes on); only the catalogue entries are a SPARQL Update, applied at the end."""
    now = datetime.now(UTC).replace(microsecond=0)

    def put(content: GraphContent) -> None:
        replacement.put(content.graph, content.triples, content.ntriples)
        replacement.then(f"DELETE WHERE {{ GRAPH <{GRAPH_CATALOGUE}> {{ <{content.graph}> ?p ?o }} }}")
        description = _ntriples(content.description(now))
        replacement.then(f"INSERT DATA {{ GRAPH <{GRAPH_CATALOGUE}> {{\n{description}}} }}")

    with collector.paused(), store.replacing(graphs) as replacement:  # millions of quads on the way to the loader
        yield put


def replace_graphs(store: Store, contents: Sequence[GraphContent]) -> None:
    """Replace each graph and its catalogue entry at once: all of it lands, or none."""
    with replacing(store, [content.graph for content in contents]) as put:
        for content in contents:
            put(content)


def recorded_digests(store: Store) -> dict[str, str]:
    """The digest each graph was last loaded from, so unchanged sources are not loaded again."""
    result = store.query(
        f"SELECT ?g ?digest WHERE {{ GRAPH <{GRAPH_CATALOGUE}> {{ ?g <{SOURCE_DIGEST.value}> ?digest }} }}"
    )
    assert isinstance(result, ox.QuerySolutions)
    return {row["g"].value: row["digest"].value for row in result}
