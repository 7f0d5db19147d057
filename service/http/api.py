"""The saved-query REST API under /api: the catalogue, running a query with typed parameters, saving a
researcher's own query (behind the write token), the OpenAPI document and its interactive page.

Every query, lookups included, runs through the executor, so the time limit and the row cap hold here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, jsonify, request, send_from_directory, url_for
from werkzeug.datastructures import MultiDict

from service.executor import QueryJob
from service.http.answers import answer, respond
from service.http.auth import require_write_token
from service.http.context import services
from service.http.params import (
    request_parameters,
    requested_format,
    seconds_parameter,
    version_parameter,
    whole_number,
)
from service.http.release_marks import mark
from service.http.saved import definition, find
from service.ingest.codebook import LANGUAGES
from service.openapi import openapi_document
from service.parameters import ParameterError, allowed_values, arguments, bind
from service.provenance import provenance
from service.saved_queries import HEADER_KEYS, QueryFileError, header_text
from service.shipped_files import ASSETS_FIX, SWAGGER_FILES, SWAGGER_UI
from service.store import QuerySyntaxError

bp = Blueprint("api", __name__)


# --- The catalogue -----------------------------------------------------------------------------------------


@bp.get("/api/queries")
def list_queries() -> Response:
    catalogue = services().library.current()
    return jsonify(
        queries=[definition(q, catalogue.queries[q.name]) for q in catalogue.latest()],
        problems=[problem.as_json() for problem in catalogue.problems],
    )


@bp.get("/api/queries/<name>/definition")
def query_definition(name: str) -> Response:
    query = find(name, version_parameter(request.args))
    response = jsonify(definition(query, services().library.current().queries[name]))
    response.headers["Samverkan-Query-Version"] = str(query.version)
    return response


@bp.get("/api/queries/<name>/parameters/<parameter>/values")
def parameter_values(name: str, parameter: str) -> Response:
    query = find(name)
    spec = query.parameter(parameter)
    if spec is None:
        abort(404, f"The saved query '{name}' has no parameter '{parameter}'.")
    values = allowed_values(spec, services().candidates())
    if values is None:
        abort(404, f"Parameter '{parameter}' takes any {spec.type} value; there is no list of values.")
    return jsonify(parameter=parameter, type=spec.type, values=values)


# --- Running a query ---------------------------------------------------------------------------------------


def page_link(params: MultiDict[str, str], offset: int, limit: int, rel: str) -> str:
    query = [(k, v) for k, v in params.items(multi=True) if k not in ("offset", "limit")]
    query += [("limit", str(limit)), ("offset", str(offset))]
    return f'<{request.base_url}?{urlencode(query)}>; rel="{rel}"'


@bp.route("/api/queries/<name>", methods=["GET", "POST"])
def run_query(name: str) -> Response:
    params = request_parameters()
    if any(text.strip() for text in params.getlist("query")):
        abort(400, "A saved query runs its own SPARQL: leave out 'query' (send your own queries to /sparql).")
    query = find(name, version_parameter(params))
    given = {key: params.getlist(key) for key in params}
    try:
        bindings = arguments(query.parameters, given, services().candidates())
    except ParameterError as error:
        abort(400, str(error))
    sparql = bind(query.text, bindings)
    max_rows = services().config.max_rows
    limit = min(whole_number(params, "limit", 1) or max_rows, max_rows)
    offset = whole_number(params, "offset", 0) or 0
    job = QueryJob(
        sparql,
        format=requested_format(params),
        accept=request.headers.get("Accept", ""),
        timeout=seconds_parameter(params),
        max_rows=limit,
        offset=offset,
    )
    try:
        answered = answer(job, extra=(str(query.version),))  # ETag, 304 and the result cache
    except QuerySyntaxError as error:
        abort(500, f"The saved query '{name}' ({query.file}) was not accepted by the store: {error}")
    response = respond(answered)
    response.headers["Samverkan-Query-Version"] = str(query.version)
    result = answered.answer
    if result is not None and result.kind != "boolean":
        response.headers["Samverkan-Rows"] = str(result.rows)
        response.headers["Samverkan-Offset"] = str(offset)
        response.headers["Samverkan-Limit"] = str(limit)
        links = []
        if result.truncated:
            links.append(page_link(params, offset + limit, limit, "next"))
        if offset > 0:
            links.append(page_link(params, max(0, offset - limit), limit, "prev"))
        if links:
            response.headers["Link"] = ", ".join(links)
    return mark(response, provenance(services(), query, bindings))


# --- Saving a researcher's query ---------------------------------------------------------------------------


def problems_response(error: QueryFileError) -> NoReturn:
    response = jsonify(
        error="Bad Request",
        status=400,
        message="The query cannot be saved: " + "; ".join(str(p) for p in error.problems),
        problems=[problem.as_json() for problem in error.problems],
    )
    response.status_code = 400
    abort(response)


def text_of_request() -> str:
    """The .rq text to save: the body as it is, or built from a JSON body's metadata fields and `sparql`."""
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        sparql = body.get("sparql") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(sparql, str):
            abort(400, "The JSON body needs 'sparql' (the query) next to name, title, description, parameters …")
        unknown = sorted(set(body) - {*HEADER_KEYS, "sparql"})
        if unknown:
            abort(400, f"Unknown field(s) {', '.join(unknown)}; a query has: {', '.join(HEADER_KEYS)} and sparql.")
        if sparql.lstrip().startswith("#+"):
            abort(400, "Give the metadata either as JSON fields or as '#+' lines in the text, not both.")
        return header_text(body) + sparql
    if request.mimetype in ("application/sparql-query", "text/plain"):
        try:
            return request.get_data().decode("utf-8")
        except UnicodeDecodeError:
            abort(400, "The body is not UTF-8 text.")
    abort(415, "Send the query as JSON (application/json) or as .rq text (application/sparql-query).")


@bp.post("/api/queries")
def save_query() -> Response:
    require_write_token()
    text = text_of_request()
    limit = services().config.max_query_chars
    if len(text) > limit:
        abort(413, f"The query is {len(text)} characters long; this service accepts at most {limit}.")
    try:
        query, created = services().library.save(text)
    except QueryFileError as error:
        problems_response(error)
    except PermissionError as error:
        abort(409, str(error))
    response = jsonify(definition(query, services().library.current().queries[query.name]))
    response.status_code = 201 if created else 200
    response.headers["Location"] = url_for("api.run_query", name=query.name)
    response.headers["Samverkan-Query-Version"] = str(query.version)
    return response


# --- Our codebook ------------------------------------------------------------------------------------------


@bp.get("/api/codebook.qdc")
def codebook() -> Response:
    """Our vocabularies as a REFI-QDA codebook to import into NVivo, ATLAS.ti or MAXQDA before coding."""
    language = request.args.get("language", "sv")
    if language not in LANGUAGES:
        abort(400, f"Parameter 'language': '{language}' is not one of the allowed values: {', '.join(LANGUAGES)}.")
    response = Response(services().schema.codebook.qdc(language), mimetype="application/xml")
    response.headers["Content-Disposition"] = f"attachment; filename=samverkan-codebook-{language}.qdc"
    return response


# --- The API document and its page -------------------------------------------------------------------------


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(services().library.current(), services().config, request.host_url.rstrip("/")))


@bp.get("/api/docs")
def docs_page() -> Response:
    return send_from_directory(Path(__file__).parent / "pages" / "templates", "api-docs.html", max_age=0)


@bp.get("/api/docs/<filename>")
def docs_asset(filename: str) -> Response:
    if filename not in SWAGGER_FILES:
        abort(404, f"No such file: {filename}.")
    folder = services().config.browser_assets / SWAGGER_UI
    if not (folder / filename).is_file():
        abort(503, f"The API page's browser code ({SWAGGER_UI}/{filename}) is missing: {ASSETS_FIX}.")
    return send_from_directory(folder, filename, max_age=3600)
