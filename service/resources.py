"""Linked-data pages: every IRI of ours under /id/… and the ontology at /ontology dereference.

A browser gets an HTML page (labels in Swedish and English, types, properties, incoming links,
provenance, the graphs and studies that mention the thing); an RDF client gets Turtle, N-Triples,
RDF/XML or JSON-LD by content negotiation (service/formats.py); `?format=json` gives the page's data
as plain JSON. The ontology page is pyLODE's documentation of the ontology graph, in the reader's
language, with a diagram of the main classes generated from the same graph (service/ontology_diagram.py).
Everything is read from the store through the executor, never from the files.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.datastructures import MIMEAccept

from service.app import services
from service.executor import QueryJob
from service.formats import GRAPH_FORMATS, Format, NotAcceptable, choose
from service.namespaces import (
    GRAPH,
    GRAPH_CATALOGUE,
    GRAPH_ONTOLOGY,
    GRAPH_VOCABULARIES,
    ID,
    ONTOLOGY,
    ONTOLOGY_IRI,
    PREFIXES,
)
from service.ontology_diagram import DiagramModel, render_svg
from service.sparql_protocol import respond
from service.web import (
    LABEL_PROPERTIES,
    NOT_IN_IRI,
    Term,
    labels_of,
    page_language,
    pick,
    remember_language,
    render_page,
    select,
    translate,
)

log = logging.getLogger(__name__)
bp = Blueprint("resources", __name__)
bp.after_request(remember_language)

RDF_TYPE = PREFIXES["rdf"] + "type"
RDFS_LABEL = PREFIXES["rdfs"] + "label"
SKOS_PREF_LABEL = PREFIXES["skos"] + "prefLabel"
DCTERMS_TITLE = PREFIXES["dcterms"] + "title"
PROVENANCE_PROPERTIES = frozenset(
    [PREFIXES["dcterms"] + name for name in ("source", "created", "modified", "creator", "license")]
    + [PREFIXES["prov"] + name for name in ("wasGeneratedBy", "wasAttributedTo", "wasDerivedFrom", "wasRevisionOf")]
)
SAMV_STUDY = ONTOLOGY + "Study"
OWL_NAMED_INDIVIDUAL = PREFIXES["owl"] + "NamedIndividual"
MAX_INCOMING = 1000


# --- content negotiation ----------------------------------------------------------------------------------------

HTML_TYPES = ("text/html", "application/xhtml+xml")


def negotiate() -> str | Format:
    """'html', 'json' (the page's data) or the RDF format the client asked for (NotAcceptable: 406)."""
    requested = request.args.get("format", "").strip().lower()
    if requested in ("html", "json"):
        return requested
    if requested:
        return choose(GRAPH_FORMATS, requested, MIMEAccept())
    accept = request.accept_mimetypes
    if not accept:
        return "html"
    rdf_types = [name for fmt in GRAPH_FORMATS for name in (fmt.media_type, *fmt.aliases) if "/" in name]
    offered = [*HTML_TYPES, "application/json", *(t for t in rdf_types if t != "application/json")]
    best = accept.best_match(offered)
    if best is None:
        raise NotAcceptable(
            "None of the media types in the Accept header can express this page; it is available as: "
            + ", ".join([*HTML_TYPES, "application/json", *(f.media_type for f in GRAPH_FORMATS)])
        )
    if best in HTML_TYPES:
        return "html"
    if best == "application/json":
        return "json"
    return next(fmt for fmt in GRAPH_FORMATS if best in (fmt.media_type, *fmt.aliases))


def rdf_response(construct: str, fmt: Format) -> Response:
    response = respond(services().executor.run(QueryJob(construct, format=fmt.name)))
    response.vary.add("Accept")
    return response


# --- labels ---------------------------------------------------------------------------------------------------


def local_name(iri: str) -> str:
    """A name for an IRI without a label: the path after id/ for ours, else the last segment."""
    if iri.startswith(ID):
        return iri[len(ID) :]
    return re.split(r"[#/]", iri.rstrip("/#"))[-1] or iri


INFERRED_GRAPH = re.compile(re.escape(GRAPH) + r"study/[^/]+/inferred")


def inferred_only(graphs: Iterable[str]) -> bool:
    """Whether a statement stands only in graphs the reasoner wrote (namespaces.inferred_graph)."""
    return all(INFERRED_GRAPH.fullmatch(g) for g in graphs)


# --- resource pages -------------------------------------------------------------------------------------------


@dataclass
class Value:
    term: Term
    graphs: set[str] = field(default_factory=set)
    nested: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # a blank node's own statements


def term_key(term: Mapping[str, str]) -> tuple[str, ...]:
    return (term["type"], term["value"], term.get("xml:lang", ""), term.get("datatype", ""))


def describe(iri: str) -> dict[str, Any] | None:
    """What the graph says about one IRI, for its page and the page's JSON twin; None when it says nothing."""
    outgoing = select(
        f"SELECT ?g ?p ?o ?bp ?bo WHERE {{ GRAPH ?g {{ <{iri}> ?p ?o "
        f"OPTIONAL {{ FILTER(isBlank(?o)) ?o ?bp ?bo }} }} }}"
    )
    incoming = select(
        f"SELECT ?g ?s ?p WHERE {{ GRAPH ?g {{ ?s ?p <{iri}> }} }} ORDER BY ?p ?s LIMIT {MAX_INCOMING + 1}"
    )
    if not outgoing and not incoming:
        return None
    properties: dict[str, dict[tuple[str, ...], Value]] = {}
    for row in outgoing:
        value = properties.setdefault(row["p"]["value"], {}).setdefault(term_key(row["o"]), Value(row["o"]))
        value.graphs.add(row["g"]["value"])
        if "bp" in row and (row["bp"]["value"], row["bo"]) not in value.nested:
            value.nested.append((row["bp"]["value"], row["bo"]))
    links: dict[tuple[str, str], set[str]] = {}
    for row in incoming[:MAX_INCOMING]:
        if row["s"]["type"] == "uri":
            links.setdefault((row["p"]["value"], row["s"]["value"]), set()).add(row["g"]["value"])
    graphs = sorted({row["g"]["value"] for row in outgoing + incoming})

    iris = {iri, *properties, *(p for p, _ in links), *(s for _, s in links)}
    for values in properties.values():
        for value in values.values():
            iris |= {t["value"] for t in [value.term] + [o for _, o in value.nested] if t["type"] == "uri"}
            iris |= {p for p, _ in value.nested}
    graph_info = graphs_described(graphs)
    iris |= {study["iri"] for info in graph_info for study in info["studies"]}
    labels = labels_of(iris)
    lang = page_language()

    def ref(target: str) -> dict[str, Any]:
        texts = labels.get(target, {})
        return {"iri": target, "label": pick(texts, lang) or local_name(target), "labels": texts}

    def term_json(term: Mapping[str, str]) -> dict[str, Any]:
        if term["type"] == "uri":
            return {"type": "uri", **ref(term["value"])}
        return dict(term)

    def statements(inferred: bool) -> list[dict[str, Any]]:
        """Statements asserted in some graph, or (inferred=True) standing only in the reasoner's graphs."""
        grouped = []
        for prop, values in properties.items():
            kept = [v for v in values.values() if inferred_only(v.graphs) == inferred]
            if not kept:
                continue
            grouped.append(
                {
                    "property": ref(prop),
                    "provenance": prop in PROVENANCE_PROPERTIES,
                    "values": [
                        {
                            **term_json(value.term),
                            "graphs": sorted(value.graphs),
                            **(
                                {"statements": [{"property": ref(p), "value": term_json(o)} for p, o in value.nested]}
                                if value.nested
                                else {}
                            ),
                        }
                        for value in kept
                    ],
                }
            )
        return sorted(
            grouped,
            key=lambda st: (
                st["property"]["iri"] != RDF_TYPE,
                st["property"]["iri"] not in LABEL_PROPERTIES,
                st["property"]["label"].casefold(),
            ),
        )

    def incoming_links(inferred: bool) -> list[dict[str, Any]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for (prop, subject), in_graphs in sorted(links.items()):
            if inferred_only(in_graphs) == inferred:
                grouped.setdefault(prop, []).append({**ref(subject), "graphs": sorted(in_graphs)})
        return [{"property": ref(p), "subjects": subjects} for p, subjects in grouped.items()]

    studies: dict[str, dict[str, Any]] = {}
    for info in graph_info:
        for study in info["studies"]:
            studies.setdefault(study["iri"], {**ref(study["iri"]), "graph": info["iri"]})
    asserted_graphs = Counter(
        g for values in properties.values() for v in values.values() if not inferred_only(v.graphs) for g in v.graphs
    )
    asserted_types = [v.term for v in properties.get(RDF_TYPE, {}).values() if not inferred_only(v.graphs)]
    return {
        "iri": iri,
        "label": pick(labels.get(iri, {}), lang) or local_name(iri),
        "labels": labels.get(iri, {}),
        "types": [term_json(t) for t in asserted_types if t["value"] != OWL_NAMED_INDIVIDUAL],
        "statements": statements(inferred=False),
        "inferred": statements(inferred=True),
        "incoming": incoming_links(inferred=False),
        "incoming_inferred": incoming_links(inferred=True),
        "incoming_truncated": len(incoming) > MAX_INCOMING,
        "graphs": graph_info,
        "main_graph": asserted_graphs.most_common(1)[0][0] if asserted_graphs else None,
        "studies": list(studies.values()),
    }


def graphs_described(graphs: Sequence[str]) -> list[dict[str, Any]]:
    """Each graph's title, source files and load time (the catalogue), and the studies it holds."""
    if not graphs:
        return []
    values = " ".join(f"<{g}>" for g in graphs)
    dcterms = PREFIXES["dcterms"]
    catalogue = select(
        f"SELECT ?g ?p ?o WHERE {{ VALUES ?g {{ {values} }} VALUES ?p {{ <{dcterms}title> <{dcterms}source> "
        f"<{dcterms}modified> }} GRAPH <{GRAPH_CATALOGUE}> {{ ?g ?p ?o }} }}"
    )
    # The studies a graph holds: whole studies (not sub-studies or phases), asserted there (not inferred).
    studies = select(
        f"SELECT DISTINCT ?g ?study WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?study a ?type }} "
        f"?type <{PREFIXES['rdfs']}subClassOf>* <{SAMV_STUDY}> "
        f"FILTER NOT EXISTS {{ ?study <{ONTOLOGY}partOf> ?whole }} }}"
    )
    described = []
    for graph in graphs:
        facts = [row for row in catalogue if row["g"]["value"] == graph]
        by = {
            name: sorted(r["o"]["value"] for r in facts if r["p"]["value"] == dcterms + name)
            for name in ("title", "source", "modified")
        }
        described.append(
            {
                "iri": graph,
                "title": (by["title"] or [graph[len(GRAPH) :] if graph.startswith(GRAPH) else graph])[0],
                "sources": by["source"],
                "loaded": by["modified"][0] if by["modified"] else None,
                "studies": [
                    {"iri": r["study"]["value"]}
                    for r in studies
                    if r["g"]["value"] == graph and not INFERRED_GRAPH.fullmatch(graph)
                ],
            }
        )
    return described


@bp.get("/id/<path:rest>")
def resource(rest: str) -> Response:
    iri = ID + rest
    chosen = negotiate()
    if isinstance(chosen, Format):
        if NOT_IN_IRI.search(iri) or not exists(iri):
            return not_found(iri)
        return rdf_response(
            f"CONSTRUCT {{ <{iri}> ?p ?o . ?o ?bp ?bo }} WHERE {{ <{iri}> ?p ?o "
            f"OPTIONAL {{ FILTER(isBlank(?o)) ?o ?bp ?bo }} }}",
            chosen,
        )
    page = None if NOT_IN_IRI.search(iri) else describe(iri)
    if page is None:
        return not_found(iri)
    page["formats"] = formats_for(request.path)
    return render_page("resource.html", page, title=page["label"], active=None)


def exists(iri: str) -> bool:
    return bool(select(f"SELECT ?x WHERE {{ {{ <{iri}> ?p ?x }} UNION {{ ?x ?p <{iri}> }} }} LIMIT 1"))


def not_found(iri: str) -> Response:
    twin = {"error": "Not Found", "status": 404, "iri": iri, "message": f"The graph says nothing about <{iri}>."}
    return render_page("not_found.html", twin, status=404, title="404")


def formats_for(path: str) -> list[dict[str, str]]:
    shown = ("turtle", "jsonld", "rdfxml", "ntriples")
    return [
        {"name": fmt.name, "media_type": fmt.media_type, "href": f"{path}?format={fmt.name}"}
        for fmt in GRAPH_FORMATS
        if fmt.name in shown
    ]


# --- the ontology ---------------------------------------------------------------------------------------------


def graph_texts(graph: str, properties: Sequence[str]) -> dict[str, dict[str, dict[str, str]]]:
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


def ontology_model() -> dict[str, Any]:
    """The ontology's classes, properties and concept schemes, read from their named graphs."""
    rdf, rdfs, owl, skos = PREFIXES["rdf"], PREFIXES["rdfs"], PREFIXES["owl"], PREFIXES["skos"]
    texts = graph_texts(GRAPH_ONTOLOGY, (RDFS_LABEL, skos + "definition", DCTERMS_TITLE, owl + "versionInfo"))
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
    vocabulary = graph_texts(GRAPH_VOCABULARIES, (SKOS_PREF_LABEL, skos + "definition"))
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


def diagram_model(model: Mapping[str, Any], lang: str, href_base: str = "") -> DiagramModel:
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
        outside_labels={iri: curie_of(iri) for iri in label if not iri.startswith(ONTOLOGY)},
        href=lambda iri: f"{href_base}#{fragment_id(iri)}",
        title=translate("diagram_title"),
        description=translate("diagram_description"),
        no_domain_note=translate("diagram_no_domain"),
    )


def curie_of(iri: str) -> str:
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def fragment_id(iri: str) -> str:
    """The anchor of a term on the ontology page: its local name for ours (so ontology#Actor lands on it)."""
    if iri.startswith(ONTOLOGY):
        return iri[len(ONTOLOGY) :]
    return re.sub(r"[^A-Za-z0-9_-]", "-", curie_of(iri))


@dataclass
class OntologyDocs:
    """pyLODE's HTML per (language, ontology digest): generating takes a second, so it is kept per app."""

    pages: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def ontology_docs() -> OntologyDocs:
    return current_app.extensions.setdefault("samverkan.ontology_docs", OntologyDocs())  # type: ignore[no-any-return]


def ontology_ntriples() -> bytes:
    construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{ ?s ?p ?o }} }}"
    return services().executor.run(QueryJob(construct, format="ntriples")).body


def pylode_html(lang: str) -> str:
    """pyLODE's documentation body of the ontology graph, with only the reader's language in it."""
    ntriples = ontology_ntriples()
    key = (lang, hashlib.sha256(ntriples).hexdigest())
    docs = ontology_docs()
    with docs.lock:
        if key not in docs.pages:
            try:
                docs.pages[key] = run_pylode(ntriples, lang)
            except Exception as error:  # a construct pyLODE cannot render must not take the page down
                log.exception("pyLODE could not document the ontology")
                return f'<p class="error" role="alert">{escape(translate("ontology_pylode_failed", error=error))}</p>'
        return docs.pages[key]


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


@bp.get("/ontology")
def ontology() -> Response:
    chosen = negotiate()
    if isinstance(chosen, Format):
        return rdf_response(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{ ?s ?p ?o }} }}", chosen)
    model = ontology_model()
    model["formats"] = formats_for(request.path)
    model["diagram"] = request.path + "/diagram.svg"
    if chosen == "json":
        return render_page("ontology.html", model)
    lang = page_language()
    return render_page(
        "ontology.html",
        model,
        title=pick(model["title"], lang) or "Ontology",
        active="ontology",
        diagram=render_svg(diagram_model(model, lang)),
        documentation=pylode_html(lang),
        pick=pick,
    )


@bp.get("/ontology/diagram.svg")
def ontology_diagram() -> Response:
    svg = render_svg(diagram_model(ontology_model(), page_language(), href_base="/ontology"), standalone=True)
    return Response(svg, mimetype="image/svg+xml")
