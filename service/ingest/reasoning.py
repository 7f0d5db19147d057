"""OWL reasoning over a study: refuse what contradicts the ontology, and materialise what follows from it.

A SPARQL store has no reasoner, so the facts the ontology implies (defined classes such as
samv:InterMunicipalCollaboration, super-classes, super-properties, inverse properties, the types property domains
and ranges give) are computed here once, when a study is loaded, and stored in the study's inferred graph.

Two engines, one result:
- HermiT (OWL 2 DL, through owlready2 and Java) checks consistency against the whole ontology. It is used for
  studies up to `Config.hermit_max_triples` triples.
- Above that, HermiT is too slow (see BENCHMARKS.md), and rules run instead, built from the ontology's own
  axioms (the OWL 2 RL subset it uses): what follows from one triple in a Python pass over the study, the
  defined classes as SPARQL updates in pyoxigraph; plus checks for disjoint classes and functional properties.
Both fill the same facts: HermiT's own answers go through the same rules to get every super-class and
super-property, since owlready2 reports only the most specific ones and drops inverse-property values.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import owlready2
import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from service.config import HERMIT_MAX_TRIPLES
from service.ingest.schema import to_rdflib
from service.namespaces import RDF_TYPE, curie

Source = Graph | Path | str
"""An rdflib Graph, or the path of an RDF file whose format rdflib can tell from its suffix (.ttl, .nt …)."""

"""Studies with more triples than this are reasoned over with the rules, not HermiT (measured: BENCHMARKS.md)."""

_INPUT_IRI = "urn:samverkan:reasoning:input"
_INFERRED_IRI = "urn:samverkan:reasoning:inferred"
_EXPRESSION = "urn:samverkan:reasoning:expression:"
_NEW = ox.NamedNode("urn:samverkan:reasoning:new")
"""Rules write each fact they add to the default graph and to this graph, from which infer() reads its answer."""
_SCHEMA_NEW = ox.NamedNode("urn:samverkan:reasoning:schema-new")
"""What the rules add from the schema alone, before the study is loaded."""
_REPORTED = ox.NamedNode("urn:samverkan:reasoning:reported")
# owlready2 points the tempfile module at a directory of ours while HermiT runs (see _private_tempdir);
# the lock keeps two reasoning calls from swapping it under each other.
_TEMPDIR_LOCK = threading.Lock()
_JAVA_HELP = "install it, e.g. `apt-get install default-jre-headless` (Debian/Ubuntu) or from https://adoptium.net"


class InconsistentStudyError(ValueError):
    """The study contradicts the ontology; `problems` says, one sentence each, which individuals and which axiom."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            message = problems[0]
        else:
            message = f"the study contradicts the ontology in {len(problems)} places: " + " ".join(
                f"({n}) {problem}" for n, problem in enumerate(problems, start=1)
            )
        super().__init__(message)


class ReasonerUnavailable(RuntimeError):
    """HermiT cannot run: Java is missing or fails to start."""


@dataclass(frozen=True)
class Inference:
    """What `infer` found about a study, and the store it was found in.

    The store's default graph holds the schema, the study and every fact that follows from them: the reasoned
    study, ready for queries over it (the comparison table, service/ingest/counts.py), so that it is not built
    again from lists of triples (seconds and a gigabyte for a study of 100,000 rows).
    """

    facts: list[ox.Triple]
    store: ox.Store


@dataclass(frozen=True)
class ReasoningResult:
    """Outcome of one HermiT run; `inferred` is empty when the input is inconsistent."""

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
    """Run HermiT over the sources; report consistency and every triple entailed beyond the input.

    Unlike `infer`, nothing is taken as already known: the ontology's own entailments are part of the answer.
    """
    asserted = merge(sources)
    asserted_nt = _ntriples(asserted)
    reported = _hermit(asserted_nt)
    if reported is None:
        return ReasoningResult(consistent=False, inferred=Graph())
    store = ox.Store()
    _load(store, asserted_nt)
    _add_new(store, reported)
    _Rules(asserted).materialise(store)
    return ReasoningResult(consistent=True, inferred=to_rdflib(_new_facts(store)))


class StudyText:
    """A study's triples written once as N-Triples, piece by piece as they are made, and loaded into the reasoner's
    store in the background meanwhile (pyoxigraph parses without holding the GIL, so the study's rows are still
    being built while the loader reads the first of them). The same pieces then go to the store that writes the
    study's graph (`pieces`), so that the millions of triples are written as text once, not twice.

    Pieces are loaded one by one, so two pieces must not share a blank node: each `add` is one piece, and
    `extend` (for triples that name no blank node, like the rows') gathers triples into pieces of `CHUNK`.
    """

    CHUNK = 200_000

    def __init__(self) -> None:
        self.store = ox.Store()
        self.pieces: list[bytes] = []
        self._pending: list[ox.Triple] = []
        self._loader = ThreadPoolExecutor(1, thread_name_prefix="samverkan-study-text")
        self._loads: list[Future[None]] = []

    @classmethod
    def of(cls, triples: Sequence[ox.Triple]) -> StudyText:
        """All the triples as one piece (they may share blank nodes), loading in the background from now on."""
        text = cls()
        text.add(triples)
        return text

    def extend(self, triples: Iterable[ox.Triple]) -> None:
        """Triples that name no blank node, written in pieces of CHUNK."""
        self._pending.extend(triples)
        if len(self._pending) >= self.CHUNK:
            self._piece(self._pending, gathered=True)
            self._pending = []

    def add(self, triples: Sequence[ox.Triple]) -> None:
        """One piece (after what `extend` gathered before it)."""
        self._piece(self._pending, gathered=True)
        self._pending = []
        self._piece(triples)

    def _piece(self, triples: Sequence[ox.Triple], *, gathered: bool = False) -> None:
        if not triples:
            return
        piece = _serialized(triples)
        # A blank node in two pieces would become two nodes; `_:` in a quote only costs the exact check.
        if gathered and b"_:" in piece and any(_names_blank_node(t) for t in triples):
            raise ValueError("triples gathered into pieces name a blank node: give them to StudyText.add in one piece")
        self.pieces.append(piece)
        self._loads.append(self._loader.submit(_load_study, self.store, piece))

    def loaded(self) -> ox.Store:
        """The reasoner's store once every piece is in its default graph."""
        self.add(())
        for load in self._loads:
            load.result()
        self._loader.shutdown()
        return self.store


def infer(
    schema: Graph,
    data: Sequence[ox.Triple],
    *,
    hermit_max_triples: int = HERMIT_MAX_TRIPLES,
    text: StudyText | None = None,
) -> Inference:
    """The facts the ontology implies about one study that neither the schema nor the study states, with the
    store they were found in.

    `schema` is the ontology, the vocabularies and the reference data; `data` is one study's triples, each
    once (their number chooses the engine). The study stays in pyoxigraph: an rdflib copy of it is made only to
    explain a contradiction. Facts that
    follow from the schema alone are left out, as they are not the study's, except the classes of individuals
    the study names: that Västerås, a kommun the study names, is a public sector actor is returned, so that a
    query by class finds it. Only facts about named individuals are returned (no blank nodes, no class or
    property axioms). Studies of up to `hermit_max_triples` triples go through HermiT, larger ones through the
    rules alone.

    `text` is the study's triples as a StudyText, when they were written so already: the reasoner's store is the
    one it loaded (the study in its default graph); without it, infer writes and loads them itself.

    Raises InconsistentStudyError naming the individuals and the axiom they break, and ReasonerUnavailable when
    HermiT is to be used but Java is missing or fails.
    """
    text = text or StudyText.of(data)  # loaded in the background while the schema is reasoned over
    rules = _Rules(schema)
    schema_nt = _ntriples(schema)
    schema_store = ox.Store()
    _load(schema_store, schema_nt)
    rules.materialise(schema_store)
    # What the schema alone implies is mostly not the study's.
    schema_store.update(f"MOVE SILENT {_NEW} TO {_SCHEMA_NEW}")
    schema_types = _schema_types(schema_store)

    @functools.cache
    def asserted() -> tuple[Graph, ...]:
        return schema, to_rdflib(list(data))

    if len(data) > hermit_max_triples:
        # Python's passes over the study run while the loader may still be reading its last piece.
        implied = rules.one_triple_implied(data)
        named_types = _named_schema_types(schema_types, data)
        store = _beside(text.loaded(), schema_store)
        found = _add_missing(store, implied)
        rules.materialise(store, from_defined_classes=True)
        if problems := rules.contradictions(store, asserted):
            raise InconsistentStudyError(problems)
        return Inference(_study_facts(store, named_types, found), store)

    store = _beside(text.loaded(), schema_store)
    reported = _hermit(schema_nt + _serialized(data))
    if reported is None:
        rules.materialise(store)
        raise InconsistentStudyError(rules.contradictions(store, asserted) or [rules.unexplained()])
    _add_new(store, _individual_facts(reported, rules))
    rules.materialise(store)
    return Inference(_study_facts(store, _named_schema_types(schema_types, data)), store)


# --- HermiT --------------------------------------------------------------------------------------------------


def _hermit(ntriples: bytes) -> Graph | None:
    """What HermiT reports beyond the input (types, property values), or None when the input is inconsistent.

    owlready2 cannot read Turtle (it silently loads almost nothing), so the graph goes in as N-Triples. A fresh
    World per call keeps runs independent. XSD date types (xsd:date, xsd:gYear …) are outside the OWL 2
    datatype map: HermiT is told to ignore them rather than fail, as no axiom reasons over dates.
    """
    java = owlready2.JAVA_EXE
    if shutil.which(java) is None:
        raise ReasonerUnavailable(
            f"Reasoning needs Java (a JRE 11 or newer), but '{java}' was not found: {_JAVA_HELP}, "
            "or make sure `java` is on PATH."
        )
    world = owlready2.World()
    world.get_ontology(_INPUT_IRI).load(fileobj=io.BytesIO(ntriples), format="ntriples")
    inferred_onto = world.get_ontology(_INFERRED_IRI)
    try:
        with _private_tempdir(), inferred_onto:
            owlready2.sync_reasoner_hermit(
                world, infer_property_values=True, ignore_unsupported_datatypes=True, debug=0
            )
    except owlready2.OwlReadyInconsistentOntologyError:
        return None
    except (OSError, owlready2.OwlReadyJavaError) as error:
        lines = str(error).strip().splitlines()
        said = lines[-1].rstrip(".") if lines else "it stopped without a message"
        raise ReasonerUnavailable(
            f"The reasoner HermiT could not run with Java ('{java}'): {said}. Reasoning needs a working Java "
            f"(a JRE 11 or newer): {_JAVA_HELP}."
        ) from error

    reported = Graph()
    buffer = io.BytesIO()
    inferred_onto.save(file=buffer, format="ntriples")
    reported.parse(data=buffer.getvalue().decode("utf-8"), format="nt")
    reported.remove((URIRef(_INFERRED_IRI), None, None))
    return reported


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


def _individual_facts(reported: Graph, rules: _Rules) -> Graph:
    """HermiT's facts about individuals; its re-classification of the ontology's own classes is left out."""
    kept = Graph()
    for s, p, o in reported:
        if s in rules.schema_terms:
            continue
        if (p == RDF.type and o in rules.classes) or p in rules.object_properties:
            kept.add((s, p, o))
    return kept


# --- Moving triples between rdflib and pyoxigraph -----------------------------------------------------------


def _ntriples(graph: Graph) -> bytes:
    return graph.serialize(format="nt", encoding="utf-8")


def _serialized(triples: Sequence[ox.Triple]) -> bytes:
    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    assert data is not None
    return data


def _load(store: ox.Store, ntriples: bytes) -> None:
    store.load(ntriples, format=ox.RdfFormat.N_TRIPLES)


def _load_study(store: ox.Store, study_nt: bytes) -> None:
    """A piece of the study's N-Triples into the store's default graph. Lenient: pyoxigraph wrote them from terms it
    checked."""
    store.load(study_nt, format=ox.RdfFormat.N_TRIPLES, lenient=True)


def _beside(study: ox.Store, schema: ox.Store) -> ox.Store:
    """The study's store with the schema's quads added (and what the schema alone implies, in its own graph): the
    study was loaded first, while it was being built, before the schema it is reasoned against was known."""
    study.extend(schema.quads_for_pattern(None, None, None, None))
    return study


def _add_missing(store: ox.Store, facts: Iterable[ox.Triple]) -> list[ox.Triple]:
    """Add facts to the store's default graph; returns those it did not have (unlike `_add_new`, they are not
    written to the graph of new facts a second time: infer() returns them itself)."""
    new = [t for t in facts if ox.Quad(t.subject, t.predicate, t.object) not in store]
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in new)
    return new


def _add_new(store: ox.Store, facts: Graph) -> None:
    """Add facts to the store's default graph, and those not there yet to the graph of new facts too."""
    store.load(_ntriples(facts), format=ox.RdfFormat.N_TRIPLES, to_graph=_REPORTED)
    store.update(f"""INSERT {{ ?s ?p ?o . GRAPH {_NEW} {{ ?s ?p ?o }} }}
        WHERE {{ GRAPH {_REPORTED} {{ ?s ?p ?o }} FILTER NOT EXISTS {{ ?s ?p ?o }} }}""")
    store.clear_graph(_REPORTED)


def _study_facts(store: ox.Store, named_types: list[ox.Triple], found: Sequence[ox.Triple] = ()) -> list[ox.Triple]:
    """What infer() returns: the new facts (those the rules added to the store, and `found` beside them), and the
    classes the schema alone implies for individuals the study names (`_named_schema_types`)."""
    return _new_facts(store) + [t for t in found if _about_named(t)] + named_types


def _schema_types(store: ox.Store) -> dict[ox.NamedNode, list[ox.NamedNode]]:
    """The classes the schema alone implies for its named individuals (the municipalities, counties and concepts of
    the reference list and vocabularies), as the rules found them before the study came."""
    query = f"""SELECT ?s ?c WHERE {{ GRAPH {_SCHEMA_NEW} {{ ?s a ?c }}
        FILTER(isIRI(?s) && !STRSTARTS(STR(?c), "{_EXPRESSION}")) }}"""
    implied: defaultdict[ox.NamedNode, list[ox.NamedNode]] = defaultdict(list)
    for row in _select(store, query):
        if isinstance(s := row["s"], ox.NamedNode) and isinstance(c := row["c"], ox.NamedNode):
            implied[s].append(c)
    return implied


def _named_schema_types(implied: dict[ox.NamedNode, list[ox.NamedNode]], data: Sequence[ox.Triple]) -> list[ox.Triple]:
    """Of infer()'s answer, the classes the schema alone implies (`implied`) for individuals the study names but
    does not give those classes itself: that Västerås, a kommun the study names, is a public sector actor."""
    named: set[object] = set()
    typed: set[tuple[object, object]] = set()
    for triple in data:  # one pass over the study: the few individuals of the schema it names, and their types
        if (subject := triple.subject) in implied:
            named.add(subject)
            if triple.predicate == _RDF_TYPE:
                typed.add((subject, triple.object))
        if (obj := triple.object) in implied:
            named.add(obj)
    return [
        ox.Triple(s, _RDF_TYPE, c)
        for s, classes in implied.items()
        if s in named
        for c in classes
        if (s, c) not in typed
    ]


def _new_facts(store: ox.Store) -> list[ox.Triple]:
    """The facts the rules (or HermiT) added about named individuals, leaving out names of class expressions."""
    return [quad.triple for quad in store.quads_for_pattern(None, None, None, _NEW) if _about_named(quad.triple)]


# --- Rules: the OWL 2 RL subset the ontology uses ------------------------------------------------------------


_CANDIDATES = "VALUES ?x {}"
"""Where a rule with candidates (_Rule.candidates) gets them."""


@dataclass(frozen=True)
class _Rule:
    """A rule as a SPARQL update. One with `candidates` (a SELECT of ?x) runs only when that finds individuals,
    and only over them: for a costly join that few individuals can satisfy (Oxigraph does not start a join
    from a small part of it by itself)."""

    update: str
    candidates: str | None = None

    @property
    def reads(self) -> str:
        """The text of what the rule reads (its WHERE and its candidates' query)."""
        return self.update.split(" WHERE ", 1)[1] + (self.candidates or "")

    def apply(self, store: ox.Store) -> None:
        if self.candidates is None:
            store.update(self.update)
        elif found := [row["x"] for row in _select(store, self.candidates)]:
            if all(isinstance(x, ox.NamedNode) for x in found):
                store.update(self.update.replace(_CANDIDATES, f"VALUES ?x {{ {' '.join(map(str, found))} }}", 1))
            else:  # a blank node cannot be a value in VALUES: check every individual
                store.update(self.update.replace(_CANDIDATES, "", 1))


class _Rules:
    """Rules and checks read from an ontology's axioms; they run over a pyoxigraph store's default graph."""

    def __init__(self, schema: Graph) -> None:
        self.schema = schema
        self.classes = {c for c in schema.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef)}
        self.object_properties = {p for p in schema.subjects(RDF.type, OWL.ObjectProperty) if isinstance(p, URIRef)}
        self.datatype_properties = {p for p in schema.subjects(RDF.type, OWL.DatatypeProperty) if isinstance(p, URIRef)}
        properties = self.object_properties | self.datatype_properties
        self.schema_terms = self.classes | properties
        self.property_ancestors = _closure(_named_parents(schema, RDFS.subPropertyOf, OWL.equivalentProperty))
        self.inverses = {
            (p, q)
            for a, b in schema.subject_objects(OWL.inverseOf)
            if isinstance(a, URIRef) and isinstance(b, URIRef)
            for p, q in ((a, b), (b, a))
        }
        self.domains = {
            (p, c)
            for p, c in schema.subject_objects(RDFS.domain)
            if isinstance(p, URIRef) and p in properties and isinstance(c, URIRef)
        }
        self.ranges = {
            (p, c)
            for p, c in schema.subject_objects(RDFS.range)
            if isinstance(p, URIRef) and p in self.object_properties and isinstance(c, URIRef)
        }
        self.functional = sorted(self.datatype_properties & set(schema.subjects(RDF.type, OWL.FunctionalProperty)))
        self.disjoint = self._disjoint_pairs()
        # Anonymous class expressions (the definitions of defined classes) get names of their own, so that each
        # rule is a small join: "?x a <expression>" is inferred step by step, as in the OWL 2 RL rules.
        self._names: dict[Node, URIRef] = {}
        self._bodies: dict[str, URIRef] = {}
        self._parts: dict[URIRef, tuple[bool, list[URIRef]]] = {}  # expression: (an intersection?, its parts)
        self.expression_rules: list[_Rule] = []
        parents = _named_parents(schema, RDFS.subClassOf, OWL.equivalentClass)
        for c, expression in schema.subject_objects(OWL.equivalentClass):
            if isinstance(c, URIRef) and isinstance(expression, BNode):
                if (name := self._compile(expression)) is not None:
                    parents[name].add(c)
                if (conjuncts := schema.value(expression, OWL.intersectionOf)) is not None:
                    parents[c] |= {m for m in Collection(schema, conjuncts) if isinstance(m, URIRef)}
        self.class_ancestors = _closure(parents)
        self.property_rules, self.typing_rules, self.class_rules, self.expression_class_rules = self._updates()

    # -- reading the axioms

    def _disjoint_pairs(self) -> set[tuple[URIRef, URIRef]]:
        """Pairs of named disjoint classes, each once, from owl:disjointWith and owl:AllDisjointClasses."""
        pairs: set[frozenset[Node]] = {frozenset(pair) for pair in self.schema.subject_objects(OWL.disjointWith)}
        for axiom in self.schema.subjects(RDF.type, OWL.AllDisjointClasses):
            members = self.schema.value(axiom, OWL.members)
            if members is not None:
                pairs |= {frozenset(pair) for pair in combinations(Collection(self.schema, members), 2)}
        named = [sorted(c for c in pair if isinstance(c, URIRef)) for pair in pairs]
        return {(pair[0], pair[1]) for pair in named if len(pair) == 2}

    def _compile(self, expression: Node) -> URIRef | None:
        """The name of a class expression, after adding the rules that fill it; None if the form is unsupported.

        Supported: intersectionOf, unionOf, and someValuesFrom, hasValue, min(Qualified)Cardinality on a named
        object property: what the ontology's defined classes use. Others are left to HermiT (a test compares).
        """
        if isinstance(expression, URIRef):
            return expression
        if expression in self._names:
            return self._names[expression]
        g = self.schema
        body: str | None = None
        parts: list[URIRef | None] = []
        counted: _Counted | None = None
        if intersection := (members := g.value(expression, OWL.intersectionOf)) is not None:
            parts = [self._compile(m) for m in Collection(g, members)]
            if None not in parts:
                body = " ".join(f"?x a <{part}> ." for part in parts)
        elif (members := g.value(expression, OWL.unionOf)) is not None:
            parts = [self._compile(m) for m in Collection(g, members)]
            if None not in parts:
                body = f"VALUES ?c {{ {' '.join(f'<{part}>' for part in parts)} }} ?x a ?c ."
        elif isinstance(prop := g.value(expression, OWL.onProperty), URIRef) and prop in self.object_properties:
            body, counted = self._restriction(expression, prop) or (None, None)
        if body is None:
            return None
        if body not in self._bodies:  # the same expression written twice gets one name and one rule
            name = self._bodies[body] = URIRef(f"{_EXPRESSION}{len(self._bodies)}")
            self._parts[name] = (intersection, [p for p in parts if p])
            self.expression_rules += (
                self._counted_rules(name, body, *counted) if counted else [_Rule(_insert_new(f"?x a <{name}>", body))]
            )
        self._names[expression] = self._bodies[body]
        return self._bodies[body]

    def _restriction(self, expression: Node, prop: URIRef) -> tuple[str, _Counted | None] | None:
        """The WHERE body of the rule for a property restriction: at least n values in a class, known distinct;
        with the property, the class and n when n is 2 or more (`_counted_rules`)."""
        g = self.schema
        if (value := g.value(expression, OWL.hasValue)) is not None:
            return f"?x <{prop}> {value.n3()} .", None
        count, filler = 1, g.value(expression, OWL.someValuesFrom)
        for cardinality, on_class in ((OWL.minQualifiedCardinality, OWL.onClass), (OWL.minCardinality, None)):
            if isinstance(number := g.value(expression, cardinality), Literal):
                count, filler = int(number), g.value(expression, on_class) if on_class else OWL.Thing
        if filler is None or count < 1 or (filler_name := self._compile(filler)) is None:
            return None
        values = [f"?y{n}" for n in range(count)]
        body = [
            f"?x <{prop}> {v} ." + ("" if filler_name == OWL.Thing else f" {v} a <{filler_name}> .") for v in values
        ]
        body += [f"FILTER(str({a}) < str({b}) && {self._different(a, b)})" for a, b in combinations(values, 2)]
        return " ".join(body), (prop, filler_name, count) if count > 1 else None

    def _counted_rules(self, name: URIRef, body: str, prop: URIRef, filler: URIRef, count: int) -> list[_Rule]:
        """The rules for "at least `count` values, known to differ": first, those with that many values of one
        functional property among their values (a count, cheap), then the pairwise check of `body` for the
        individuals not found so that have enough values at all (on a large study, running that check over every
        individual took longer than all other defined classes together)."""
        head = f"?x a <{name}>"
        values = f"?x <{prop}> ?y ." + ("" if filler == OWL.Thing else f" ?y a <{filler}> .")
        rules = [
            _Rule(
                _insert_new(
                    head,
                    f"{{ SELECT ?x {{ {values} ?y <{p}> ?v }} GROUP BY ?x HAVING (COUNT(DISTINCT ?v) >= {count}) }}",
                )
            )
            for p in self.functional
        ]
        candidates = (
            f"SELECT ?x {{ {{ SELECT ?x {{ {values} }} GROUP BY ?x HAVING (COUNT(DISTINCT ?y) >= {count}) }} "
            f"FILTER NOT EXISTS {{ {head} }} }}"
        )
        return [*rules, _Rule(_insert_new(head, f"{_CANDIDATES} {body}"), candidates)]

    def _different(self, a: str, b: str) -> str:
        """Two individuals are known to differ (OWL has no unique name assumption): how HermiT would know.

        Different values of a functional property (kommunkod) come first, as the cheapest and usual reason; one
        EXISTS per property, since a variable predicate there makes Oxigraph's plan 25 times slower.
        """
        ways = [f"EXISTS {{ {a} <{p}> ?fa . {b} <{p}> ?fb FILTER(!sameTerm(?fa, ?fb)) }}" for p in self.functional]
        ways += [
            f"EXISTS {{ {a} <{OWL.differentFrom}> {b} }}",
            f"EXISTS {{ {b} <{OWL.differentFrom}> {a} }}",
            f"EXISTS {{ ?all a <{OWL.AllDifferent}> ; <{OWL.distinctMembers}>|<{OWL.members}> ?list . "
            f"?list <{RDF.rest}>*/<{RDF.first}> {a} . ?list <{RDF.rest}>*/<{RDF.first}> {b} }}",
        ]
        if self.disjoint:
            ways.append(
                f"EXISTS {{ VALUES (?da ?db) {{ {_pairs(self.disjoint | {(y, x) for x, y in self.disjoint})} }} "
                f"{a} a ?da . {b} a ?db }}"
            )
        return f"({' || '.join(ways)})"

    # -- running them

    def _updates(self) -> tuple[list[_Rule], list[_Rule], list[_Rule], list[_Rule]]:
        """The rules as SPARQL updates: for property values, for the types they imply, for types from types, and
        for the super-classes of class expressions (after the expressions' own rules)."""
        class_pairs = {(c, a) for c, ancestors in self.class_ancestors.items() for a in ancestors}
        property_pairs = {(p, a) for p, ancestors in self.property_ancestors.items() for a in ancestors}
        expression_pairs = {(c, a) for c, a in class_pairs if c in self._parts}

        def rule(head: str, variables: str, pairs: set[tuple[URIRef, URIRef]], body: str) -> list[_Rule]:
            projection = " ".join(dict.fromkeys(t for t in head.split() if t.startswith("?")))
            where = f"SELECT DISTINCT {projection} {{ VALUES {variables} {{ {_pairs(pairs)} }} {body} }}"
            return [_Rule(_insert_new(head, f"{{ {where} }}"))] if pairs else []

        return (
            rule("?x ?q ?y", "(?p ?q)", property_pairs, "?x ?p ?y")
            + rule("?y ?q ?x", "(?p ?q)", self.inverses, "?x ?p ?y FILTER(!isLiteral(?y))"),
            rule("?x a ?c", "(?p ?c)", self.domains, "?x ?p ?y")
            + rule("?y a ?c", "(?p ?c)", self.ranges, "?x ?p ?y FILTER(!isLiteral(?y))"),
            rule("?x a ?d", "(?c ?d)", class_pairs, "?x a ?c"),
            rule("?x a ?d", "(?c ?d)", expression_pairs, "?x a ?c"),
        )

    def materialise(self, store: ox.Store, *, from_defined_classes: bool = False) -> None:
        """Apply the rules to the store's default graph until nothing new follows.

        Property values first (super-properties, inverses, to their fixpoint), then the types they imply
        (domains, ranges) and their super-classes, then the defined classes: no rule derives property values
        from types, so this order reaches the closure. `from_defined_classes`: the first two phases are done
        already (`one_triple_implied`, `_add_missing`).

        The defined classes' rules come in an order where each expression's parts come before it, and types
        are closed under super-classes before them, so one pass finds nearly everything. What it can miss is
        what a rule reads among the super-classes the pass's last rule added: only the rules that read one of
        those run again, and only if they find something does the whole pass repeat (on a large study, a
        second whole pass that only confirms took as long as half the first).
        """
        if not from_defined_classes:
            size = -1
            while size != (size := len(store)):
                for rule in self.property_rules:
                    rule.apply(store)
            for rule in self.typing_rules + self.class_rules:
                rule.apply(store)
        rules = self.expression_rules + self.expression_class_rules
        again = self._reading_defined_supers
        size = len(store) if again else 0  # counting a store's quads reads them all
        for rule in rules:
            rule.apply(store)
        while again and size != (size := len(store)):
            for rule in again:
                rule.apply(store)
            again = rules

    @functools.cached_property
    def _reading_defined_supers(self) -> list[_Rule]:
        """The expressions' rules that read a class the super-class rule after them may add to an individual that
        lacked it, then that rule again; none when no rule reads one."""
        added = {str(a) for c in self._parts for a in self.class_ancestors.get(c, set()) - self._known(c)}
        readers = [r for r in self.expression_rules if added & set(re.findall(r"<([^>]+)>", r.reads))]
        return readers + self.expression_class_rules if readers else []

    def _known(self, c: URIRef) -> set[URIRef]:
        """The classes every individual of class `c` has before super-classes of expressions are added: a named
        class's super-classes are there already; an intersection has each part's, a union those all parts share."""
        if c not in self._parts:
            return {c} | self.class_ancestors.get(c, set())
        intersection, parts = self._parts[c]
        known = [self._known(part) for part in parts]
        return {c} | (set().union(*known) if intersection else set.intersection(*known) if known else set())

    def one_triple_implied(self, data: Sequence[ox.Triple]) -> set[ox.Triple]:
        """The first two phases of `materialise` for a study, to be added to a store whose schema is materialised
        (`_add_missing`): every fact that follows from one of its triples (super-properties and inverses, the types of
        domains and ranges, super-classes), found in one Python pass over the study, without the store.

        The same rules as SPARQL updates take three times as long on a study of 100,000 rows: each phase joins
        the whole store, ends with a pass that only confirms nothing new follows, and writes each fact twice.
        A fact that follows from schema triples alone is in the store already, so the study's triples suffice.

        Each node's types are gathered as bits of an int (_Types) and made into triples once at the end: the
        nodes of a study of 100,000 rows get 2.5 million types from their triples, 740,000 of them different.
        """
        plan, supers_of, types = self._one_triple_plan, self._super_types, self._types
        found: set[ox.Triple] = set()
        typed: defaultdict[ox.NamedNode | ox.BlankNode, int] = defaultdict(int)
        for triple in data:
            subject, predicate, obj = triple.subject, triple.predicate, triple.object
            implied = plan.get(predicate)
            if implied is not None:
                properties, subject_types, object_types = implied[1] if isinstance(obj, ox.Literal) else implied[0]
                for q, inverted in properties:  # not inverted when obj is a literal
                    found.add(ox.Triple(obj, q, subject) if inverted else ox.Triple(subject, q, obj))  # type: ignore[arg-type]
                if subject_types:
                    typed[subject] |= subject_types  # type: ignore[index]
                if object_types:
                    typed[obj] |= object_types  # type: ignore[index]
            if predicate == _RDF_TYPE and (supers := supers_of.get(obj)):  # type: ignore[arg-type]
                typed[subject] |= supers  # type: ignore[index]
        for node, bits in typed.items():
            found.update(ox.Triple(node, _RDF_TYPE, c) for c in types.classes(bits))
        return found

    @functools.cached_property
    def _types(self) -> _Types:
        return _Types(self.class_ancestors)

    @functools.cached_property
    def _super_types(self) -> dict[ox.NamedNode, int]:
        """What a type implies: its super-classes, as _Types bits."""
        return {ox.NamedNode(c): self._types.bits(found) for c, found in self.class_ancestors.items() if found}

    @functools.cached_property
    def _one_triple_plan(self) -> dict[ox.NamedNode, tuple[_Implied, _Implied]]:
        """For each property, what one of its values implies: the other properties the triple has (super-properties
        and inverses, with whether subject and object swap), and the types (_Types bits, super-classes included)
        that the domains and ranges of them all give its subject and its object; for a resource value and for a
        literal (never swapped, no range)."""
        domains: dict[URIRef, list[URIRef]] = defaultdict(list)
        ranges: dict[URIRef, list[URIRef]] = defaultdict(list)
        for prop, c in self.domains:
            domains[prop].append(c)
        for prop, c in self.ranges:
            ranges[prop].append(c)
        inverses: dict[URIRef, set[URIRef]] = defaultdict(set)
        for a, b in self.inverses:
            inverses[a].add(b)
        plan: dict[ox.NamedNode, tuple[_Implied, _Implied]] = {}
        for prop in {*self.property_ancestors, *inverses, *domains, *ranges}:
            reached: list[_Implied] = []
            for literal in (False, True):
                seen = {(prop, False)}
                stack = [(prop, False)]
                while stack:
                    current, inverted = stack.pop()
                    nexts = [(a, inverted) for a in self.property_ancestors.get(current, ())]
                    if not literal:
                        nexts += [(q, not inverted) for q in inverses.get(current, ())]
                    for step in nexts:
                        if step not in seen:
                            seen.add(step)
                            stack.append(step)
                # The classes the values of what was reached give the subject (False) and the object (True).
                gives: dict[bool, list[URIRef]] = {False: [], True: []}
                for q, inverted in seen:
                    gives[inverted] += domains.get(q, [])
                    gives[not inverted] += [] if literal else ranges.get(q, [])
                others = [(ox.NamedNode(q), inverted) for q, inverted in sorted(seen) if (q, inverted) != (prop, False)]
                reached.append((others, self._types.bits(gives[False]), self._types.bits(gives[True])))
            plan[ox.NamedNode(prop)] = (reached[0], reached[1])
        return plan

    def contradictions(self, store: ox.Store, asserted: Callable[[], tuple[Graph, ...]]) -> list[str]:
        """Plain-words sentences for each individual in two disjoint classes or with two functional values.

        `asserted` gives the graphs as stated, to say where a class comes from; it is called only when needed.
        """
        labels = _Labels(store)
        problems = []
        if self.disjoint:
            query = f"SELECT ?x ?a ?b WHERE {{ VALUES (?a ?b) {{ {_pairs(self.disjoint)} }} ?x a ?a , ?b }}"
            for row in _select(store, query):
                graphs = asserted()
                x, a, b = (URIRef(row[n].value) for n in ("x", "a", "b"))
                problems.append(
                    f"{labels.individual(x)} is coded both as {labels.class_(a)}{self._why(graphs, x, a)} and as "
                    f"{labels.class_(b)}{self._why(graphs, x, b)}, which are disjoint ({_curie(a)} and {_curie(b)})"
                )
        if self.functional:
            query = f"""SELECT ?x ?p ?v ?w WHERE {{ VALUES ?p {{ {_iris(self.functional)} }}
                ?x ?p ?v , ?w FILTER(!sameTerm(?v, ?w) && str(?v) <= str(?w)) }}"""
            for row in _select(store, query):
                x, p = URIRef(row["x"].value), URIRef(row["p"].value)
                problems.append(
                    f'{labels.individual(x)} has two values of {_curie(p)} ({labels.property_(p)}), "{row["v"].value}"'
                    f' and "{row["w"].value}", but can have only one ({_curie(p)} is a functional property)'
                )
        return sorted(problems)

    def _why(self, asserted: tuple[Graph, ...], individual: URIRef, cls: URIRef) -> str:
        """Where a type comes from when it is not coded as such: a sub-class, or a property's domain or range."""
        coded = {c for g in asserted for c in g.objects(individual, RDF.type) if isinstance(c, URIRef)}
        if cls in coded:
            return ""
        for c in sorted(coded):
            if cls in self.class_ancestors.get(c, ()):
                return f" (from {_curie(c)})"
        for position, axioms in (("domain", self.domains), ("range", self.ranges)):
            for prop, c in sorted(axioms):
                if cls == c or cls in self.class_ancestors.get(c, ()):
                    pattern = (individual, prop, None) if position == "domain" else (None, prop, individual)
                    if any(next(g.triples(pattern), None) is not None for g in asserted):
                        return f" (from its {_curie(prop)}, whose {position} is {_curie(c)})"
        return " (inferred)"

    def unexplained(self) -> str:
        return (
            "HermiT found the study inconsistent with the ontology, but none of the checks that name a cause did "
            "(an individual in two disjoint classes, counting the classes its legal form and its properties' "
            "domains and ranges imply; two values of a functional property such as samv:kommunkod). Check the "
            "actor types and codes of the rows changed last."
        )


_RDF_TYPE = ox.NamedNode(RDF_TYPE)
_Implied = tuple[list[tuple[ox.NamedNode, bool]], int, int]  # other properties (and whether swapped), types


class _Types:
    """Sets of classes as the bits of an int, one bit per class: a node's types, merged with `|` as each of its
    triples adds some, without a triple made, or a class hashed, each time."""

    def __init__(self, ancestors: dict[URIRef, set[URIRef]]) -> None:
        self._ancestors = ancestors
        self._bit: dict[URIRef, int] = {}
        self._classes: list[ox.NamedNode] = []
        self._sets: dict[int, list[ox.NamedNode]] = {}

    def bits(self, classes: Iterable[URIRef]) -> int:
        """The classes with their super-classes."""
        bits = 0
        for c in classes:
            for a in (c, *self._ancestors.get(c, ())):
                if a not in self._bit:
                    self._bit[a] = len(self._classes)
                    self._classes.append(ox.NamedNode(a))
                bits |= 1 << self._bit[a]
        return bits

    def classes(self, bits: int) -> list[ox.NamedNode]:
        if bits not in self._sets:  # a few dozen different sets on a large study
            self._sets[bits] = [c for n, c in enumerate(self._classes) if bits >> n & 1]
        return self._sets[bits]


_Counted = tuple[URIRef, URIRef, int]  # "at least n values known to differ": the property, the class, n


def _names_blank_node(triple: ox.Triple) -> bool:
    return isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)


def _about_named(triple: ox.Triple) -> bool:
    """A fact to return: about a named individual, with no blank node or name of a class expression in it."""
    obj = triple.object
    return (
        isinstance(triple.subject, ox.NamedNode)
        and not isinstance(obj, ox.BlankNode)
        and not (isinstance(obj, ox.NamedNode | ox.Literal) and obj.value.startswith(_EXPRESSION))
    )


class _Labels:
    """Names for messages: an individual by its rdfs:label (else skos:prefLabel, else IRI), a class by its
    English label."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def _label(self, term: URIRef, languages: tuple[str, ...]) -> str | None:
        found: dict[str, str] = {}
        for prop in (RDFS.label, SKOS.prefLabel):
            for quad in self.store.quads_for_pattern(ox.NamedNode(term), ox.NamedNode(str(prop)), None, None):
                if isinstance(quad.object, ox.Literal):
                    found.setdefault(quad.object.language or "", quad.object.value)
            if found:
                break
        for language in languages:
            if language in found:
                return found[language]
        return next(iter(found.values()), None)

    def individual(self, term: URIRef) -> str:
        label = self._label(term, ("sv", "", "en"))
        return f"'{label}'" if label else f"<{term}>"

    def class_(self, term: URIRef) -> str:
        label = self._label(term, ("en", "", "sv")) or _curie(term)
        return ("an " if label[:1].lower() in "aeiou" else "a ") + label

    def property_(self, term: URIRef) -> str:
        return self._label(term, ("en", "", "sv")) or _curie(term)


def _insert_new(head: str, body: str) -> str:
    """A rule: add the head's triples that are not yet in the default graph, to it and to the graph of new facts."""
    return f"INSERT {{ {head} . GRAPH {_NEW} {{ {head} }} }} WHERE {{ {body} FILTER NOT EXISTS {{ {head} }} }}"


def _select(store: ox.Store, query: str) -> ox.QuerySolutions:
    solutions = store.query(query)
    assert isinstance(solutions, ox.QuerySolutions)
    return solutions


def _curie(term: URIRef) -> str:
    """A term in an explanation: shortened with our prefixes, else written as SPARQL writes an IRI."""
    short = curie(str(term))
    return short if short != str(term) else f"<{term}>"


def _iris(terms: Iterable[URIRef]) -> str:
    return " ".join(f"<{t}>" for t in terms)


def _pairs(pairs: Iterable[tuple[URIRef, URIRef]]) -> str:
    return " ".join(f"(<{a}> <{b}>)" for a, b in sorted(pairs))


def _named_parents(graph: Graph, sub_of: URIRef, equivalent: URIRef) -> dict[URIRef, set[URIRef]]:
    parents: defaultdict[URIRef, set[URIRef]] = defaultdict(set)
    for child, parent in graph.subject_objects(sub_of):
        if isinstance(child, URIRef) and isinstance(parent, URIRef):
            parents[child].add(parent)
    for a, b in graph.subject_objects(equivalent):
        if isinstance(a, URIRef) and isinstance(b, URIRef):
            parents[a].add(b)
            parents[b].add(a)
    return parents


def _closure(parents: dict[URIRef, set[URIRef]]) -> dict[URIRef, set[URIRef]]:
    """Named ancestors of every node, equivalents included, owl:Thing left out."""
    ancestors: dict[URIRef, set[URIRef]] = {}
    for node in parents:
        found: set[URIRef] = set()
        stack = list(parents[node])
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(parents.get(current, ()))
        found -= {node, OWL.Thing}
        ancestors[node] = found
    return ancestors
