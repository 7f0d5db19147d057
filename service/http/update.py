"""SPARQL 1.1 Update over the SPARQL 1.1 Protocol at /update (https://www.w3.org/TR/sparql11-protocol/).

Closed unless the service has a write token (service/http/auth.py). POST form-encoded (`update=…`) or POST
direct (`application/sparql-update`); the dataset from `using-graph-uri`/`using-named-graph-uri`;
relative IRIs resolved against the endpoint's URL. An update is one transaction of the store, and its
LOAD and SERVICE reach only allow-listed URLs (service/fetch_policy.py).
"""

from __future__ import annotations

from flask import Blueprint, Request, Response, abort, request
from werkzeug.datastructures import MultiDict

from service.fetch_policy import check_fetches
from service.http.auth import require_write_token
from service.http.context import services
from service.http.params import UPDATE, absolute_iri, protocol_parameters
from service.store import Dataset, QuerySyntaxError, UpdateError
from service.update_dataset import DatasetConflict, with_protocol_dataset

bp = Blueprint("update", __name__)


@bp.route("/update", methods=["POST"])
def update() -> Response:
    require_write_token()
    params, text = _parameters(request)
    dataset = Dataset(
        tuple(absolute_iri("using-graph-uri", g) for g in params.getlist("using-graph-uri")),
        tuple(absolute_iri("using-named-graph-uri", g) for g in params.getlist("using-named-graph-uri")),
    )
    try:
        text_with_dataset = with_protocol_dataset(text, dataset)
    except DatasetConflict as error:
        abort(400, str(error))
    config = services().config
    check_fetches(
        text,
        service_endpoints=config.allowed_service_endpoints,
        load_sources=config.allowed_load_sources,
        base_iri=request.base_url,
    )
    try:
        services().store.update(text_with_dataset, base_iri=request.base_url)
    except QuerySyntaxError as error:
        abort(400, f"The update is not valid SPARQL 1.1 Update: {error}")
    except UpdateError as error:
        abort(400, f"The update could not be applied, so none of it was: {error}")
    return Response("The update was applied.\n", mimetype="text/plain")


def _parameters(req: Request) -> tuple[MultiDict[str, str], str]:
    """The protocol parameters and the update text."""
    params, updates = protocol_parameters(req, "update", UPDATE)
    if params.getlist("query"):
        abort(400, "/update takes SPARQL Update only; send queries (the 'query' parameter) to /sparql.")
    if not updates:
        abort(400, "Missing the 'update' parameter: send a SPARQL Update as update=… or as the POST body.")
    if len(updates) > 1:
        abort(
            400,
            f"The request carries {len(updates)} updates; send exactly one (several operations can be joined "
            "with ';' in one update).",
        )
    return params, updates[0]
