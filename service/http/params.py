"""Reading a request's parameters the same way on every endpoint: the SPARQL 1.1 Protocol's three ways of
sending a query or update (GET, POST form, POST direct), IRIs, formats, time limits and whole numbers, each
refused with a 4xx that names the parameter and says what is expected.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Request, abort, request
from werkzeug.datastructures import MultiDict

from service.openapi import MAX_WHOLE_NUMBER

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"
FORMAT_PARAMETERS = ("format", "output", "results")  # `output` and `results`: sent by SPARQLWrapper


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


def whole_number(params: MultiDict[str, str], name: str, minimum: int) -> int | None:
    value = params.get(name)
    if not value:
        return None
    if not value.strip().isdigit() or not minimum <= int(value) <= MAX_WHOLE_NUMBER:
        abort(400, f"The '{name}' parameter is a whole number from {minimum} to {MAX_WHOLE_NUMBER}; got '{value}'.")
    return int(value)


def version_parameter(params: MultiDict[str, str]) -> int | None:
    return whole_number(params, "version", 1)


def request_parameters() -> MultiDict[str, str]:
    params: MultiDict[str, str] = MultiDict(request.args)
    if request.method == "POST":
        if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            abort(415, "A POST that runs a saved query carries its parameters form-encoded (param=value&…).")
        for key, values in request.form.lists():
            params.setlist(key, params.getlist(key) + values)
    return params
