"""The SPARQL 1.1 Protocol, query operation, at /sparql (https://www.w3.org/TR/sparql11-protocol/).

GET, POST form-encoded and POST direct; the dataset from `default-graph-uri`/`named-graph-uri`;
results by content negotiation or a `format` parameter; the service description for a bare GET.
"""

from __future__ import annotations

import re

import pyoxigraph as ox
from flask import Blueprint, Request, Response, abort, request
from werkzeug.datastructures import MultiDict

from service.app import services
from service.caching import answer_query
from service.caching import respond as respond  # re-exported: the API and the pages answer the same way
from service.executor import QueryJob, answer
from service.formats import GRAPH_FORMATS, RESULT_FORMATS
from service.store import Dataset, GraphResult, QuerySyntaxError

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"
FORMAT_PARAMETERS = ("format", "output", "results")  # `output` and `results`: sent by SPARQLWrapper

_PROLOGUE = re.compile(r"\s*(?:(?:#[^\n]*\n)|(?:PREFIX\s+\S*:\s*<[^>]*>)|(?:BASE\s+<[^>]*>)|\s)*", re.IGNORECASE)
_UPDATE_KEYWORD = re.compile(r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.IGNORECASE)

UPDATES_REFUSED = (
    "/sparql answers queries only (SELECT, ASK, CONSTRUCT, DESCRIBE); SPARQL Update is not accepted here. "
    "Data is added with the 'samverkan load' and 'samverkan import' commands, or, where the service was "
    "started with a write token, through /update and /store."
)


def _looks_like_update(text: str) -> bool:
    return _UPDATE_KEYWORD.match(text, _PROLOGUE.match(text).end()) is not None  # type: ignore[union-attr]


def body_text(req: Request) -> str:
    """The body of a POST as text: only UTF-8 is accepted (415 for another charset, 400 for bad bytes)."""
    charset = req.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        abort(415, f"The request body must be UTF-8; it was declared as '{charset}'.")
    try:
        return req.get_data().decode("utf-8")
    except UnicodeDecodeError as error:
        abort(400, f"The request body is not valid UTF-8 (byte {error.start}).")


def protocol_parameters(req: Request, operation: str, direct: str) -> tuple[MultiDict[str, str], list[str]]:
    """The protocol parameters and the operation's texts (`query` or `update`), whichever way the request
    carries them: URL parameters, a form-encoded body, or the text itself as the body (`direct` media type)."""
    params: MultiDict[str, str] = MultiDict(req.args)
    if req.method in ("GET", "HEAD"):
        return params, params.getlist(operation)
    if req.mimetype == FORM:
        body_text(req)  # checks the declared charset and the encoding
        for key, values in req.form.lists():
            params.setlist(key, params.getlist(key) + values)
        return params, params.getlist(operation)
    if req.mimetype == direct:
        return params, [body_text(req), *params.getlist(operation)]
    given = f"'{req.mimetype}'" if req.mimetype else "no Content-Type"
    abort(
        415,
        f"A POST to {req.path} must have Content-Type {FORM} (with the {operation}=… parameter) or {direct} "
        f"(the {operation} as the body); this request had {given}.",
    )


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


def absolute_iri(name: str, value: str) -> str:
    """A protocol parameter that must be an absolute IRI (400 naming the parameter otherwise)."""
    try:
        ox.NamedNode(value)
    except ValueError:
        abort(400, f"The '{name}' parameter must be an absolute IRI such as https://example.org/graph; got '{value}'.")
    return value


def requested_format(params: MultiDict[str, str]) -> str | None:
    for name in FORMAT_PARAMETERS:
        if params.get(name):
            return params[name]
    return None


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    params, query = _parameters(request)
    if query is None:
        dataset_given = params.getlist("default-graph-uri") + params.getlist("named-graph-uri")
        if request.method in ("GET", "HEAD") and not dataset_given:
            return service_description(params)
        abort(400, "Missing the 'query' parameter: send a SPARQL query as ?query=… or as the POST body.")
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
    )
    try:
        return answer_query(job).response()
    except QuerySyntaxError as error:
        if _looks_like_update(query):
            abort(400, UPDATES_REFUSED)
        abort(400, f"The query is not valid SPARQL 1.1: {error}")


def seconds_parameter(params: MultiDict[str, str]) -> float | None:
    """The `timeout` parameter: a client may lower the time limit for its query, never raise it."""
    value = params.get("timeout")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        abort(400, f"The 'timeout' parameter is a number of seconds above 0, e.g. 2.5; got '{value}'.")
    return seconds


SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def service_description(params: MultiDict[str, str]) -> Response:
    """The SPARQL 1.1 Service Description of this endpoint: languages, formats, and the named graphs."""

    def sd(term: str) -> ox.NamedNode:
        return ox.NamedNode(SD + term)

    endpoint = ox.NamedNode(request.base_url)
    dataset, default_graph = ox.BlankNode(), ox.BlankNode()
    triples = [
        ox.Triple(endpoint, RDF_TYPE, sd("Service")),
        ox.Triple(endpoint, sd("endpoint"), endpoint),
        ox.Triple(endpoint, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(endpoint, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(endpoint, sd("defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, RDF_TYPE, sd("Graph")),
        ox.Triple(
            endpoint,
            ox.NamedNode("http://purl.org/dc/terms/title"),
            ox.Literal("Samverkan KG: samverkan (collaboration) of Swedish municipalities", language="en"),
        ),
    ]
    for fmt in RESULT_FORMATS + GRAPH_FORMATS:
        triples.append(ox.Triple(endpoint, sd("resultFormat"), ox.NamedNode(fmt.iri)))
    for graph in services().store.named_graphs():
        node = ox.BlankNode()
        triples += [
            ox.Triple(dataset, sd("namedGraph"), node),
            ox.Triple(node, RDF_TYPE, sd("NamedGraph")),
            ox.Triple(node, sd("name"), ox.NamedNode(graph)),
        ]
    job = QueryJob("", format=requested_format(params), accept=request.headers.get("Accept", ""))
    return respond(answer(GraphResult(triples), job, services().executor.limits))
