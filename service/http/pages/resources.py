"""Linked-data pages: every IRI of ours under /id/… and the ontology at /ontology dereference.

A browser gets an HTML page (labels in Swedish and English, types, properties, incoming links,
provenance, the graphs and studies that mention the thing; service/describe.py); an RDF client gets
Turtle, N-Triples, RDF/XML or JSON-LD by content negotiation; `?format=json` gives the page's data as plain
JSON. The ontology page is pyLODE's documentation of the ontology graph, in the reader's language, with a
diagram of the main classes (service/ontology_docs.py). Everything is read from the store, never the files.
"""

from __future__ import annotations

import logging
from html import escape

from flask import Blueprint, Response, current_app, request

from service.describe import describe, exists
from service.executor import QueryJob
from service.formats import GRAPH_FORMATS, JSON_TWIN, PAGE_FORMATS, Format
from service.http.answers import respond
from service.http.context import services
from service.http.pages.rendering import page_format, page_language, remember_language, render_page, texts, translate
from service.labels import NOT_IN_IRI, pick
from service.namespaces import ID
from service.ontology_diagram import render_svg
from service.ontology_docs import ONTOLOGY_CONSTRUCT, DiagramTexts, OntologyDocs, diagram_model, ontology_model

log = logging.getLogger(__name__)
bp = Blueprint("resources", __name__)
bp.after_request(remember_language)

PAGE_OR_RDF = (*PAGE_FORMATS, *GRAPH_FORMATS)  # a page's JSON twin wins over JSON-LD for application/json
DOCS = "samverkan.ontology_docs"


def rdf_response(construct: str, fmt: Format) -> Response:
    return respond(services().executor.run(QueryJob(construct, format=fmt.name)))


@bp.get("/id/<path:rest>")
def resource(rest: str) -> Response:
    iri = ID + rest
    chosen = page_format(PAGE_OR_RDF)
    if chosen not in PAGE_FORMATS:
        if NOT_IN_IRI.search(iri) or not exists(services().select, iri):
            return not_found(iri)
        return rdf_response(
            f"CONSTRUCT {{ <{iri}> ?p ?o . ?o ?bp ?bo }} WHERE {{ <{iri}> ?p ?o "
            f"OPTIONAL {{ FILTER(isBlank(?o)) ?o ?bp ?bo }} }}",
            chosen,
        )
    page = None if NOT_IN_IRI.search(iri) else describe(services().select, iri, page_language(), texts().messages)
    if page is None:
        return not_found(iri)
    page["formats"] = formats_for(request.path)
    return render_page("resource.html", page, title=page["label"], active=None)


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


@bp.get("/ontology")
def ontology() -> Response:
    chosen = page_format(PAGE_OR_RDF)
    if chosen not in PAGE_FORMATS:
        return rdf_response(ONTOLOGY_CONSTRUCT, chosen)
    model = ontology_model(services().select)
    model["formats"] = formats_for(request.path)
    model["diagram"] = request.path + "/diagram.svg"
    if chosen == JSON_TWIN:
        return render_page("ontology.html", model)
    lang = page_language()
    return render_page(
        "ontology.html",
        model,
        title=pick(model["title"], lang) or "Ontology",
        active="ontology",
        diagram=render_svg(diagram_model(model, lang, diagram_texts())),
        documentation=pylode_html(lang),
        pick=pick,
    )


@bp.get("/ontology/diagram.svg")
def ontology_diagram() -> Response:
    model = ontology_model(services().select)
    svg = render_svg(diagram_model(model, page_language(), diagram_texts(), href_base="/ontology"), standalone=True)
    return Response(svg, mimetype="image/svg+xml")


def diagram_texts() -> DiagramTexts:
    return DiagramTexts(translate("diagram_title"), translate("diagram_description"), translate("diagram_no_domain"))


def pylode_html(lang: str) -> str:
    """pyLODE's documentation of the ontology graph; a construct pyLODE cannot render must not take the page
    down, so its failure becomes a line on the page."""
    docs: OntologyDocs = current_app.extensions.setdefault(DOCS, OntologyDocs())
    ntriples = services().executor.run(QueryJob(ONTOLOGY_CONSTRUCT, format="ntriples")).body
    try:
        return docs.html(ntriples, lang)
    except Exception as error:
        log.exception("pyLODE could not document the ontology")
        return f'<p class="error" role="alert">{escape(translate("ontology_pylode_failed", error=error))}</p>'
