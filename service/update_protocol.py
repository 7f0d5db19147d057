"""SPARQL 1.1 Update over the SPARQL 1.1 Protocol at /update (https://www.w3.org/TR/sparql11-protocol/).

Closed unless the service has a write token (service/auth.py). POST form-encoded (`update=…`) or POST
direct (`application/sparql-update`); the dataset from `using-graph-uri`/`using-named-graph-uri`;
relative IRIs resolved against the endpoint's URL. An update is one transaction of the store, and its
LOAD and SERVICE reach only allow-listed URLs (service/fetch_policy.py).
"""

from __future__ import annotations

from flask import Blueprint, Request, Response, abort, request
from werkzeug.datastructures import MultiDict

from service.app import services
from service.auth import require_write_token
from service.fetch_policy import check_fetches
from service.sparql_lexer import Token, tokens
from service.sparql_protocol import UPDATE, absolute_iri, protocol_parameters
from service.store import Dataset, QuerySyntaxError, UpdateError

bp = Blueprint("update", __name__)


class DatasetConflict(ValueError):
    """The protocol names a dataset and the update names its own (USING or WITH)."""


def with_protocol_dataset(update: str, dataset: Dataset) -> str:
    """The update with `using-graph-uri`/`using-named-graph-uri` written into it as USING clauses.

    Oxigraph's update takes no dataset argument, so `USING <g>`/`USING NAMED <g>` go before the WHERE of
    every DELETE/INSERT operation (the WHERE keywords outside any braces); `DELETE WHERE {P}`, which
    cannot take USING, is spelled out as the equivalent `DELETE {P} USING … WHERE {P}`.
    """
    if not dataset.given:
        return update
    items = tokens(update)
    if any(token.is_word("USING", "WITH") for token in items):
        raise DatasetConflict(
            "The request names a dataset with using-graph-uri/using-named-graph-uri and the update names its "
            "own with USING or WITH; use one or the other."
        )
    clause = " ".join(
        [f"USING <{g}>" for g in dataset.default_graphs] + [f"USING NAMED <{g}>" for g in dataset.named_graphs]
    )
    insertions: list[tuple[int, str]] = []
    depth = 0
    for i, token in enumerate(items):
        depth += (token.text == "{") - (token.text == "}") if token.kind == "other" else 0
        if depth != 0 or not token.is_word("WHERE"):
            continue
        if i > 0 and items[i - 1].is_word("DELETE") and items[i + 1 : i + 2] and items[i + 1].text == "{":
            closing = _closing_brace(items, i + 1)
            pattern = update[items[i + 1].start : items[closing].start + 1]
            insertions.append((token.start, f"{pattern} {clause} "))
        else:
            insertions.append((token.start, f"{clause} "))
    for position, text in reversed(insertions):
        update = update[:position] + text + update[position:]
    return update


def _closing_brace(items: list[Token], opening: int) -> int:
    """The index of the `}` that closes the `{` at items[opening] (the last token if none: the parser says so)."""
    depth = 0
    for index in range(opening, len(items)):
        if items[index].kind == "other":
            depth += (items[index].text == "{") - (items[index].text == "}")
            if depth == 0:
                return index
    return len(items) - 1


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
