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

    @app.errorhandler(NotAcceptable)
    def not_acceptable(error: NotAcceptable) -> Response:
        return error_response(406, str(error))

    @app.errorhandler(FetchRefused)
    def fetch_refused(error: FetchRefused) -> Response:
        return error_response(400, str(error))

    @app.errorhandler(QueryTimeoutError)
    def too_long(error: QueryTimeoutError) -> Response:
        """A query past its time limit: the request asked for more than the service gives, so a 4xx."""
        return error_response(422, str(error))

    @app.errorhandler(ReleaseGone)
    def gone(error: ReleaseGone) -> Response:
        return error_response(410, str(error))

    @app.errorhandler(UnknownRelease)
    @app.errorhandler(UnknownQuery)
    @app.errorhandler(ReleasesUnsupported)
    def no_release(error: Exception) -> Response:
        return error_response(404, str(error))

    @app.errorhandler(CitationError)
    def not_citable(error: CitationError) -> Response:
        return error_response(422, str(error))

    @app.errorhandler(CitationMismatch)
    def mismatch(error: CitationMismatch) -> Response:
        """The rows computed again differ from the cited ones: never other rows in their place."""
        return error_response(500, str(error))

    @app.errorhandler(StoreError)
    @app.errorhandler(ComparisonUnavailable)
    def unavailable(error: Exception) -> Response:
        return error_response(503, str(error))
