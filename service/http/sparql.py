"""The SPARQL 1.1 Protocol, query operation, at /sparql (https://www.w3.org/TR/sparql11-protocol/), and the
same on a data release's snapshot at /releases/<id>/sparql.

GET, POST form-encoded and POST direct; the dataset from `default-graph-uri`/`named-graph-uri`;
results by content negotiation or a `format` parameter; the service description for a bare GET.
Every answer says which release its data equals (`Samverkan-Release`, service/http/release_marks.py).
"""

from __future__ import annotations

import re

import pyoxigraph as ox
from flask import Blueprint, Request, Response, abort, request
from werkzeug.datastructures import MultiDict

from service.executor import QueryJob, render
from service.formats import GRAPH_FORMATS, RESULT_FORMATS
from service.http.answers import answer, respond
from service.http.context import services
from service.http.params import DIRECT, UPDATE, absolute_iri, protocol_parameters, requested_format, seconds_parameter
from service.http.release_marks import mark
from service.namespaces import RDF_TYPE
from service.provenance import on_release, provenance, release_snapshot
from service.store import Dataset, GraphResult, QuerySyntaxError, SnapshotStore

bp = Blueprint("sparql", __name__)


_PROLOGUE = re.compile(r"\s*(?:(?:#[^\n]*\n)|(?:PREFIX\s+\S*:\s*<[^>]*>)|(?:BASE\s+<[^>]*>)|\s)*", re.IGNORECASE)
_UPDATE_KEYWORD = re.compile(r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.IGNORECASE)

UPDATES_REFUSED = (
    "/sparql answers queries only (SELECT, ASK, CONSTRUCT, DESCRIBE); SPARQL Update is not accepted here. "
    "Data is added with the 'samverkan load' and 'samverkan import' commands, or, where the service was "
    "started with a write token, through /update and /store."
)


def _looks_like_update(text: str) -> bool:
    return _UPDATE_KEYWORD.match(text, _PROLOGUE.match(text).end()) is not None  # type: ignore[union-attr]


def _parameters(req: Request) -> tuple[MultiDict[str, str], str | None]:
    """The protocol parameters and the query text."""
    if req.method == "POST" and req.mimetype == UPDATE:
        abort(415, UPDATES_REFUSED)
    params, queries = protocol_parameters(req, "query", DIRECT)
    if params.getlist("update"):
        abort(400, UPDATES_REFUSED)
    if len(queries) > 1:
        abort(400, f"The request carries {len(queries)} queries; send exactly one.")
    return params, (queries[0] if queries else None)


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    return mark(query_operation(), provenance(services()))


@bp.route("/releases/<release>/sparql", methods=["GET", "POST"])
def release_sparql(release: str) -> Response:
    """The protocol on a release's snapshot: the data a citation was computed on stays open to any query."""
    found, snapshot = release_snapshot(services(), release)
    return mark(query_operation(snapshot), on_release(found))


def query_operation(snapshot: str | None = None) -> Response:
    """The query operation on the store, or on a release's snapshot."""
    params, query = _parameters(request)
    if query is None:
        if request.method in ("GET", "HEAD") and not params:
            return service_description(snapshot)
        given = ", ".join(sorted(params)) or "an empty body"
        abort(
            400,
            f"Missing the 'query' parameter: there is no query parameter in this request (it has {given}). "
            "Send a SPARQL query as ?query=… or as the POST body; a GET without any parameters gives the "
            "service description.",
        )
    limit = services().config.max_query_chars
    if len(query) > limit:
        abort(413, f"The query is {len(query)} characters long; this service accepts at most {limit}.")
    job = QueryJob(
        sparql=query,
        dataset=Dataset(
            tuple(absolute_iri("default-graph-uri", g) for g in params.getlist("default-graph-uri")),
            tuple(absolute_iri("named-graph-uri", g) for g in params.getlist("named-graph-uri")),
        ),
        base_iri=request.base_url,
        format=requested_format(params),
        accept=request.headers.get("Accept", ""),
        timeout=seconds_parameter(params),
        snapshot=snapshot,
    )
    try:
        return respond(answer(job))
    except QuerySyntaxError as error:
        if _looks_like_update(query):
            abort(400, UPDATES_REFUSED)
        abort(400, f"The query is not valid SPARQL 1.1: {error}")


SD = "http://www.w3.org/ns/sparql-service-description#"


def service_description(snapshot: str | None = None) -> Response:
    """The SPARQL 1.1 Service Description of this endpoint (asked for by a GET without parameters, so its format
    comes from Accept): languages, formats, and the named graphs."""

    def sd(term: str) -> ox.NamedNode:
        return ox.NamedNode(SD + term)

    a = ox.NamedNode(RDF_TYPE)
    endpoint = ox.NamedNode(request.base_url)
    dataset, default_graph = ox.BlankNode(), ox.BlankNode()
    triples = [
        ox.Triple(endpoint, a, sd("Service")),
        ox.Triple(endpoint, sd("endpoint"), endpoint),
        ox.Triple(endpoint, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(endpoint, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(endpoint, sd("defaultDataset"), dataset),
        ox.Triple(dataset, a, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, a, sd("Graph")),
        ox.Triple(
            endpoint,
            ox.NamedNode("http://purl.org/dc/terms/title"),
            ox.Literal("Samverkan KG: samverkan (collaboration) of Swedish municipalities", language="en"),
        ),
    ]
    for fmt in RESULT_FORMATS + GRAPH_FORMATS:
        triples.append(ox.Triple(endpoint, sd("resultFormat"), ox.NamedNode(fmt.iri)))
    for graph in (SnapshotStore(snapshot) if snapshot else services().store).named_graphs():
        node = ox.BlankNode()
        triples += [
            ox.Triple(dataset, sd("namedGraph"), node),
            ox.Triple(node, a, sd("NamedGraph")),
            ox.Triple(node, sd("name"), ox.NamedNode(graph)),
        ]
    job = QueryJob("", accept=request.headers.get("Accept", ""))
    return respond(render(GraphResult(triples), job, services().executor.limits))
