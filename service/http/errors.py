"""Errors in plain words, the same everywhere: JSON for the API and health, plain text for SPARQL clients and
pages. Core exceptions (a query past its time limit, a refused fetch, an unreachable store …) become the
HTTP status a client can act on.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES

from service.citation import CitationError, CitationMismatch
from service.comparison import ComparisonUnavailable
from service.fetch_policy import FetchRefused
from service.formats import NotAcceptable
from service.provenance import UnknownQuery
from service.releases import ReleaseGone, ReleasesUnsupported, UnknownRelease
from service.store import QueryTimeoutError, StoreError


def error_response(status: int, message: str) -> Response:
    name = HTTP_STATUS_CODES.get(status, "Error")
    if request.path.startswith(("/api/", "/health")):
        response = jsonify(error=name, status=status, message=message)
    else:
        response = Response(f"{status} {name}: {message}\n", mimetype="text/plain")
    response.status_code = status
    return response


# What each core exception means to a client. Flask picks the most specific class, so ReleasesUnsupported (a
# StoreError) is a 404 while other StoreErrors are a 503.
STATUS_OF: dict[type[Exception], int] = {
    NotAcceptable: 406,
    FetchRefused: 400,
    QueryTimeoutError: 422,  # a query past its time limit: the request asked for more than the service gives
    ReleaseGone: 410,
    UnknownRelease: 404,
    UnknownQuery: 404,
    ReleasesUnsupported: 404,
    CitationError: 422,
    CitationMismatch: 500,  # the rows computed again differ from the cited ones: never other rows in their place
    StoreError: 503,
    ComparisonUnavailable: 503,
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        message = error.description or error.name
        allowed = ", ".join(error.valid_methods or []) if isinstance(error, MethodNotAllowed) else ""
        if allowed:
            message = f"{request.method} is not allowed on {request.path}; use {allowed}."
        response = error_response(error.code or 500, message)
        if allowed:
            response.headers["Allow"] = allowed
        return response

    for kind, status in STATUS_OF.items():
        app.register_error_handler(kind, lambda error, status=status: error_response(status, str(error)))
