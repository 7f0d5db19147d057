"""OWL 2 DL reasoning over RDF graphs with HermiT (through owlready2).

Used to check that an ontology, its vocabularies and a study's data are consistent, and to get the facts the
reasoner adds (defined-class memberships, super-property and inverse-property values) so a SPARQL store
without a reasoner can answer with them.
"""

from __future__ import annotations

import io
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import owlready2
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

Source = Graph | Path | str
"""An rdflib Graph, or the path of an RDF file whose format rdflib can tell from its suffix (.ttl, .nt …)."""

_INPUT_IRI = "urn:samverkan:reasoning:input"
_INFERRED_IRI = "urn:samverkan:reasoning:inferred"
# owlready2 points the tempfile module at a directory of ours while HermiT runs (see _private_tempdir);
# the lock keeps two reasoning calls from swapping it under each other.
_TEMPDIR_LOCK = threading.Lock()


@dataclass(frozen=True)
class ReasoningResult:
    """Outcome of one reasoner run; `inferred` is empty when the input is inconsistent."""

    consistent: bool
    inferred: Graph


def merge(sources: Iterable[Source]) -> Graph:
    """One graph holding all sources' triples: the reasoner sees them as one ontology."""
    merged = Graph()
    for source in sources:
        if isinstance(source, Graph):
            merged += source
        else:
            merged.parse(source)
    return merged


def reason(sources: Iterable[Source]) -> ReasoningResult:
    """Run HermiT over the sources; report consistency and the triples it entails beyond the input.

    owlready2 cannot read Turtle (it silently loads almost nothing), so the graphs go in as N-Triples. A fresh
    World per call keeps runs independent. XSD date types (xsd:date, xsd:gYear …) are outside the OWL 2
    datatype map: HermiT is told to ignore them rather than fail, as no axiom reasons over dates.
    """
    asserted = merge(sources)
    world = owlready2.World()
    world.get_ontology(_INPUT_IRI).load(
        fileobj=io.BytesIO(asserted.serialize(format="nt", encoding="utf-8")), format="ntriples"
    )
    inferred_onto = world.get_ontology(_INFERRED_IRI)
    try:
        with _private_tempdir(), inferred_onto:
            owlready2.sync_reasoner_hermit(
                world, infer_property_values=True, ignore_unsupported_datatypes=True, debug=0
            )
    except owlready2.OwlReadyInconsistentOntologyError:
        return ReasoningResult(consistent=False, inferred=Graph())

    reported = Graph()
    buffer = io.BytesIO()
    inferred_onto.save(file=buffer, format="ntriples")
    reported.parse(data=buffer.getvalue().decode("utf-8"), format="nt")
    reported.remove((URIRef(_INFERRED_IRI), None, None))

    inferred = reported + _hierarchy_closure(asserted + reported)
    return ReasoningResult(consistent=True, inferred=inferred - asserted)


@contextmanager
def _private_tempdir() -> Iterator[None]:
    """Route temporary files into a directory removed afterwards.

    owlready2 writes HermiT's input to a temporary file and leaves it behind when HermiT finds the ontology
    inconsistent; it offers no other way to choose where that file goes than `tempfile.tempdir`.
    """
    with _TEMPDIR_LOCK, tempfile.TemporaryDirectory(prefix="samverkan-reasoning-") as directory:
        previous = tempfile.tempdir
        tempfile.tempdir = directory
        try:
            yield
        finally:
            tempfile.tempdir = previous


def _hierarchy_closure(graph: Graph) -> Graph:
    """Types and property values entailed through the class and property hierarchies and owl:inverseOf.

    HermiT, as owlready2 reports it, gives only the most specific types and property values, and owlready2
    drops facts that follow from an inverse property. These follow from the (reasoned) hierarchy in `graph`.
    """
    class_ancestors = _ancestors(graph, RDFS.subClassOf, OWL.equivalentClass)
    property_ancestors = _ancestors(graph, RDFS.subPropertyOf, OWL.equivalentProperty)
    inverses: defaultdict[URIRef, set[URIRef]] = defaultdict(set)
    for p, q in graph.subject_objects(OWL.inverseOf):
        if isinstance(p, URIRef) and isinstance(q, URIRef):
            inverses[p].add(q)
            inverses[q].add(p)

    closure = Graph()
    for individual in graph.subjects(RDF.type, OWL.NamedIndividual):
        for cls in graph.objects(individual, RDF.type):
            if isinstance(cls, URIRef):
                for ancestor in class_ancestors.get(cls, ()):
                    closure.add((individual, RDF.type, ancestor))

    pending = [
        (s, p, o)
        for p in graph.subjects(RDF.type, OWL.ObjectProperty)
        if isinstance(p, URIRef)
        for s, o in graph.subject_objects(p)
    ]
    seen = set(pending)
    while pending:
        s, p, o = pending.pop()
        implied = [(s, q, o) for q in property_ancestors.get(p, ())]
        implied += [(o, q, s) for q in inverses.get(p, ())]
        for triple in implied:
            if triple not in seen:
                seen.add(triple)
                pending.append(triple)
                closure.add(triple)
    return closure


def _ancestors(graph: Graph, sub_of: URIRef, equivalent: URIRef) -> dict[URIRef, set[URIRef]]:
    """Named ancestors of every named class (or property), equivalents included, owl:Thing left out."""
    parents: defaultdict[URIRef, set[URIRef]] = defaultdict(set)
    for child, parent in graph.subject_objects(sub_of):
        if isinstance(child, URIRef) and isinstance(parent, URIRef):
            parents[child].add(parent)
    for a, b in graph.subject_objects(equivalent):
        if isinstance(a, URIRef) and isinstance(b, URIRef):
            parents[a].add(b)
            parents[b].add(a)

    ancestors: dict[URIRef, set[URIRef]] = {}
    for node in parents:
        found: set[URIRef] = set()
        stack = list(parents[node])
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(parents.get(current, ()))
        found.discard(node)
        found.discard(OWL.Thing)
        ancestors[node] = found
    return ancestors
