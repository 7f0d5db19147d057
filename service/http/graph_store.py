"""The SPARQL 1.1 Graph Store HTTP Protocol at /store (https://www.w3.org/TR/sparql11-http-rdf-update/).

`?graph=IRI` names a named graph and `?default` the store's own default graph (not the union of all
graphs that /sparql queries see by default). GET and HEAD read a graph in any RDF format, chosen as on
/sparql, and are open to everyone: the same triples can be read with a query. PUT (replace), POST (add)
and DELETE need the write token (service/http/auth.py). Each change is one SPARQL Update, so it lands whole
or not at all, and changes the data version like every other write.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, abort, request

from service.executor import QueryJob
from service.formats import GRAPH_FORMATS, NotAcceptable, negotiate
from service.http.answers import answer, respond
from service.http.auth import require_write_token
from service.http.context import services
from service.http.params import absolute_iri, requested_format
from service.store import Dataset

bp = Blueprint("graph_store", __name__)

WHICH_GRAPH = "Name one graph: ?graph=IRI for a named graph, or ?default for the store's default graph."


def _target() -> str | None:
    """The IRI of the graph the request names, or None for the default graph."""
    graphs = request.args.getlist("graph")
    default = "default" in request.args
    if len(graphs) + default != 1:
        abort(400, WHICH_GRAPH)
    return absolute_iri("graph", graphs[0]) if graphs else None


def _missing(graph: str) -> None:
    if graph not in services().store.named_graphs():
        abort(404, f"There is no graph <{graph}> in this store. The graphs it holds are listed by GET /sparql.")


@bp.get("/store")
def read() -> Response:
    """The graph's triples: CONSTRUCTed through the executor, so limits, formats and ETags are as for /sparql."""
    graph = _target()
    if graph is None:
        sparql = "CONSTRUCT WHERE { ?s ?p ?o }"
    else:
        _missing(graph)
        sparql = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}"
    job = QueryJob(
        sparql,
        Dataset(union_default_graph=graph is not None),
        format=requested_format(request.args),
        accept=request.headers.get("Accept", ""),
    )
    return respond(answer(job))


def _body() -> list[ox.Triple]:
    """The triples of the request body, in the RDF format its Content-Type names."""
    media_type = request.mimetype
    try:
        fmt = negotiate(GRAPH_FORMATS, media_type, "") if media_type else None
    except NotAcceptable:
        fmt = None
    if fmt is None or fmt.rdf is None:
        given = f"'{media_type}'" if media_type else "no Content-Type"
        abort(
            415,
            "A PUT or POST to /store carries an RDF graph with its Content-Type, one of "
            + ", ".join(f.media_type for f in GRAPH_FORMATS)
            + f"; this request had {given}.",
        )
    try:
        quads = ox.parse(request.get_data(), format=fmt.rdf, base_iri=request.args.get("graph") or request.base_url)
        return [quad.triple for quad in quads]
    except (SyntaxError, ValueError) as error:
        abort(400, f"The request body is not valid {fmt.rdf.name}: {error}")


@bp.route("/store", methods=["PUT", "POST"])
def write() -> Response:
    """PUT replaces the graph with the body's triples, POST adds them; 201 when the graph is new."""
    require_write_token()
    graph = _target()
    triples = _body()
    store = services().store
    existed = graph is None or graph in store.named_graphs()
    name = ox.NamedNode(graph) if graph else None
    operations = []
    if request.method == "PUT":
        operations.append(f"DROP SILENT GRAPH {name}" if name else "DROP SILENT DEFAULT")
    if name:
        operations.append(f"CREATE SILENT GRAPH {name}")
    if triples:
        data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")  # type: ignore[union-attr]
        operations.append(f"INSERT DATA {{ GRAPH {name} {{\n{data}}} }}" if name else f"INSERT DATA {{\n{data}}}")
    if operations:
        store.update(" ;\n".join(operations))
    what = f"Graph <{graph}>" if graph else "The default graph"
    done = "now holds" if request.method == "PUT" else "received"
    count = f"{len(triples)} triple{'' if len(triples) == 1 else 's'}"
    return Response(f"{what} {done} {count}.\n", status=200 if existed else 201, mimetype="text/plain")


@bp.delete("/store")
def delete() -> Response:
    require_write_token()
    graph = _target()
    if graph is None:
        services().store.update("CLEAR DEFAULT")
        return Response("The default graph was emptied.\n", mimetype="text/plain")
    _missing(graph)
    services().store.update(f"DROP SILENT GRAPH {ox.NamedNode(graph)}")
    return Response(f"Graph <{graph}> was deleted.\n", mimetype="text/plain")
