"""The ontology documented for readers: its classes, properties and concept schemes read from the store,
a diagram of the main classes (service/ontology_diagram.py), and pyLODE's documentation of the graph.

Everything is read from the ontology's named graph, never from the files, so the page shows what queries see.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.labels import Select, local_name, pick
from service.namespaces import GRAPH_ONTOLOGY, GRAPH_VOCABULARIES, ONTOLOGY, ONTOLOGY_IRI, PREFIXES, curie
from service.ontology_diagram import DiagramModel

log = logging.getLogger(__name__)

RDFS_LABEL = PREFIXES["rdfs"] + "label"
SKOS_PREF_LABEL = PREFIXES["skos"] + "prefLabel"
DCTERMS_TITLE = PREFIXES["dcterms"] + "title"
ONTOLOGY_CONSTRUCT = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{ ?s ?p ?o }} }}"


@dataclass(frozen=True)
class DiagramTexts:
    """The diagram's words in the reader's language (the interface's messages)."""

    title: str
    description: str
    no_domain_note: str


def graph_texts(select: Select, graph: str, properties: Sequence[str]) -> dict[str, dict[str, dict[str, str]]]:
    """For every IRI in a graph: property -> language -> text, for the given annotation properties."""
    props = " ".join(f"<{p}>" for p in properties)
    rows = select(
        f"SELECT ?s ?p ?text WHERE {{ GRAPH <{graph}> {{ VALUES ?p {{ {props} }} ?s ?p ?text FILTER(isIRI(?s)) }} }}"
    )
    texts: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        by_lang = texts.setdefault(row["s"]["value"], {}).setdefault(row["p"]["value"], {})
        by_lang.setdefault(row["text"].get("xml:lang", ""), row["text"]["value"])
    return texts


def ontology_model(select: Select) -> dict[str, Any]:
    """The ontology's classes, properties and concept schemes, read from their named graphs."""
    rdf, rdfs, owl, skos = PREFIXES["rdf"], PREFIXES["rdfs"], PREFIXES["owl"], PREFIXES["skos"]
    texts = graph_texts(select, GRAPH_ONTOLOGY, (RDFS_LABEL, skos + "definition", DCTERMS_TITLE, owl + "versionInfo"))
    classes = select(f"SELECT ?c WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{ ?c a <{owl}Class> FILTER(isIRI(?c)) }} }}")
    rdf_list = f"<{rdf}rest>*/<{rdf}first>"
    parents = select(
        f"SELECT DISTINCT ?c ?super WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{ "
        f"{{ ?c <{rdfs}subClassOf> ?super }} UNION "
        f"{{ ?c <{owl}equivalentClass>/<{owl}intersectionOf>/{rdf_list} ?super }} "
        f"FILTER(isIRI(?c) && isIRI(?super)) }} }}"
    )
    members = f"(<{owl}unionOf>/{rdf_list})?"  # a union domain or range stands for each of its classes
    properties = select(
        f"SELECT ?p ?kind ?domain ?range WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{ "
        f"VALUES ?kind {{ <{owl}ObjectProperty> <{owl}DatatypeProperty> }} ?p a ?kind "
        f'FILTER(STRSTARTS(STR(?p), "{ONTOLOGY}")) '
        f"OPTIONAL {{ ?p <{rdfs}domain>/{members} ?domain FILTER(isIRI(?domain)) }} "
        f"OPTIONAL {{ ?p <{rdfs}range>/{members} ?range FILTER(isIRI(?range)) }} }} }}"
    )
    vocabulary = graph_texts(select, GRAPH_VOCABULARIES, (SKOS_PREF_LABEL, skos + "definition"))
    schemes = select(
        f"SELECT ?scheme ?concept ?notation WHERE {{ GRAPH <{GRAPH_VOCABULARIES}> {{ ?scheme a <{skos}ConceptScheme> "
        f"OPTIONAL {{ ?concept <{skos}inScheme> ?scheme OPTIONAL {{ ?concept <{skos}notation> ?notation }} }} }} }}"
    )

    def term(iri: str, source: Mapping[str, Mapping[str, Mapping[str, str]]], label: str) -> dict[str, Any]:
        own = source.get(iri, {})
        return {
            "iri": iri,
            "label": dict(own.get(label, {})),
            "definition": dict(own.get(skos + "definition", {})),
        }

    class_iris = sorted({row["c"]["value"] for row in classes})
    model: dict[str, Any] = {
        "iri": ONTOLOGY_IRI,
        "title": dict(texts.get(ONTOLOGY_IRI, {}).get(DCTERMS_TITLE, {})),
        "version": next(iter(texts.get(ONTOLOGY_IRI, {}).get(owl + "versionInfo", {}).values()), None),
        "classes": [
            {
                **term(c, texts, RDFS_LABEL),
                "superclasses": sorted({r["super"]["value"] for r in parents if r["c"]["value"] == c}),
            }
            for c in class_iris
        ],
        "properties": [],
        "concept_schemes": [],
    }
    for p in sorted({row["p"]["value"] for row in properties}):
        rows = [row for row in properties if row["p"]["value"] == p]
        model["properties"].append(
            {
                **term(p, texts, RDFS_LABEL),
                "kind": "object" if rows[0]["kind"]["value"] == owl + "ObjectProperty" else "datatype",
                "domain": sorted({r["domain"]["value"] for r in rows if "domain" in r}),
                "range": sorted({r["range"]["value"] for r in rows if "range" in r}),
            }
        )
    for scheme in sorted({row["scheme"]["value"] for row in schemes}):
        concepts = {
            r["concept"]["value"]: r.get("notation", {}).get("value")
            for r in schemes
            if r["scheme"]["value"] == scheme and "concept" in r
        }
        model["concept_schemes"].append(
            {
                **term(scheme, vocabulary, SKOS_PREF_LABEL),
                "concepts": [
                    {**term(c, vocabulary, SKOS_PREF_LABEL), "notation": notation}
                    for c, notation in sorted(concepts.items())
                ],
            }
        )
    return model


def diagram_model(model: Mapping[str, Any], lang: str, texts: DiagramTexts, href_base: str = "") -> DiagramModel:
    """The main classes (ours, and the outside classes our object properties point to) and their relations."""
    label = {c["iri"]: pick(c["label"], lang) or local_name(c["iri"]) for c in model["classes"]}
    ours = [c["iri"] for c in model["classes"] if c["iri"].startswith(ONTOLOGY)]
    relations = []
    for prop in model["properties"]:
        if prop["kind"] != "object":
            continue
        name = pick(prop["label"], lang) or local_name(prop["iri"])
        for target in prop["range"]:
            for source in prop["domain"] or [None]:
                relations.append((source, name, target, prop["iri"]))
    return DiagramModel(
        classes={iri: label.get(iri, local_name(iri)) for iri in ours},
        parents={c["iri"]: tuple(c["superclasses"]) for c in model["classes"] if c["iri"] in ours},
        relations=relations,
        outside_labels={iri: curie(iri) for iri in label if not iri.startswith(ONTOLOGY)},
        href=lambda iri: f"{href_base}#{fragment_id(iri)}",
        title=texts.title,
        description=texts.description,
        no_domain_note=texts.no_domain_note,
    )


def fragment_id(iri: str) -> str:
    """The anchor of a term on the ontology page: its local name for ours (so ontology#Actor lands on it)."""
    if iri.startswith(ONTOLOGY):
        return iri[len(ONTOLOGY) :]
    return re.sub(r"[^A-Za-z0-9_-]", "-", curie(iri))


class OntologyDocs:
    """pyLODE's HTML per (language, ontology digest): generating takes a second, so it is kept per app."""

    def __init__(self) -> None:
        self._pages: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def html(self, ntriples: bytes, lang: str) -> str:
        """pyLODE's documentation body of the ontology graph (N-Triples), with only the reader's language."""
        key = (lang, hashlib.sha256(ntriples).hexdigest())
        with self._lock:
            if key not in self._pages:
                self._pages[key] = run_pylode(ntriples, lang)
            return self._pages[key]


def run_pylode(ntriples: bytes, lang: str) -> str:
    """Run pyLODE 3.3.4 (pinned: 3.4.1 does not import) on a copy of the graph holding one language.

    Two workarounds, both for 3.3.4: a nested class expression (a union of intersections, as in
    samv:CrossSectorCollaboration) fails with "unhashable type: 'list'" (RDFLib/pyLODE issue #231), fixed by
    letting its `intersperse` return a tuple; and importing pyLODE calls logging.basicConfig(DEBUG), so the
    root logger is put back as it was.
    """
    from rdflib import Graph, Literal, URIRef

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    import pylode.utils
    from pylode import OntPub

    root.handlers[:] = handlers
    root.setLevel(level)
    if not getattr(pylode.utils.intersperse, "samverkan_patched", False):
        original = pylode.utils.intersperse

        def intersperse(items: Iterable[Any], separator: Any) -> tuple[Any, ...]:
            return tuple(original(items, separator))

        intersperse.samverkan_patched = True  # type: ignore[attr-defined]
        pylode.utils.intersperse = intersperse

    full = Graph().parse(data=ntriples, format="nt")
    graph = Graph()
    for triple in full:
        obj = triple[2]
        if isinstance(obj, Literal) and obj.language and obj.language.lower() != lang:
            continue
        graph.add(triple)
    publisher = OntPub(graph, sort_subjects=True)
    publisher.fids = {str(s): fragment_id(str(s)) for s in set(graph.subjects()) if isinstance(s, URIRef)}
    html: str = publisher.make_html()
    # Keep the body's content; its index (toc) goes first; pyLODE's floating credit is replaced by our own line.
    body = html[html.index("<body>") + len("<body>") : html.rindex("</body>")]
    content, index = body[: body.index('<div id="pylode">')], body[body.index('<div id="toc">') :]
    body = index + content
    # Our page has the h1; pyLODE's headings move one level down.
    for level_ in (4, 3, 2, 1):
        body = body.replace(f"<h{level_}>", f"<h{level_ + 1}>").replace(f"</h{level_}>", f"</h{level_ + 1}>")
    return body
