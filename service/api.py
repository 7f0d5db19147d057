"""The saved-query REST API under /api: the catalogue, running a query with typed parameters, saving a
researcher's own query (behind the write token), the OpenAPI document and its interactive page.

Every query, lookups included, runs through the executor, so the time limit and the row cap hold here too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, jsonify, request, send_from_directory, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.datastructures import MultiDict

from service.app import Services, services
from service.auth import require_write_token
from service.caching import answer_query
from service.config import PROJECT_ROOT
from service.executor import Executor, QueryJob
from service.openapi import MAX_WHOLE_NUMBER, openapi_document
from service.parameters import (
    LOOKUPS,
    TYPES,
    ParameterError,
    ParameterSpec,
    Row,
    allowed_values,
    arguments,
    bind,
    term_from_json,
)
from service.saved_queries import HEADER_KEYS, QueryFileError, QueryLibrary, SavedQuery, header_text
from service.sparql_protocol import requested_format, seconds_parameter
from service.store import QuerySyntaxError, StoreError

bp = Blueprint("api", __name__)

SWAGGER_UI = PROJECT_ROOT / "node_modules" / "swagger-ui-dist"
SWAGGER_FILES = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"}
EXTENSION = "samverkan.queries"


def rows(executor: Executor, sparql: str) -> list[Row]:
    """Every row of a lookup SELECT as terms, run by the executor like any other query (page by page when the
    service's row cap is below the lookup's size, so a name is never missed)."""
    found: list[Row] = []
    while True:
        answer = executor.run(QueryJob(sparql, format="json", offset=len(found)))
        for binding in json.loads(answer.body)["results"]["bindings"]:
            terms = {name: term_from_json(value) for name, value in binding.items()}
            found.append({name: term for name, term in terms.items() if term is not None})
        if not answer.truncated or not answer.rows:
            return found


def lookup(sparql: str) -> list[Row]:
    return rows(services().executor, sparql)


@bp.record_once
def open_library(state: BlueprintSetupState) -> None:
    """Read the catalogue at start-up, so every bad file is logged (file and line) before the first request."""
    shared: Services = state.app.extensions["samverkan"]
    schemes_query = (LOOKUPS / "schemes.rq").read_text(encoding="utf-8")

    def schemes() -> set[str] | None:
        try:
            found = rows(shared.executor, schemes_query)
        except StoreError:  # the scheme names are then checked when a query runs
            return None
        return {row["value"].value.rsplit("/", 1)[-1] for row in found if "value" in row}

    library = QueryLibrary(shared.config.queries_dir, shared.config.user_queries_dir, schemes)
    state.app.extensions[EXTENSION] = library
    catalogue = library.current()
    state.app.logger.info("%d saved queries, %d problems", len(catalogue.queries), len(catalogue.problems))


def library() -> QueryLibrary:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


# --- The catalogue -----------------------------------------------------------------------------------------


def values_url(query: SavedQuery, spec: ParameterSpec) -> str | None:
    if spec.values or spec.values_query or TYPES[spec.type].resolved:
        return url_for("api.parameter_values", name=query.name, parameter=spec.name)
    return None


def definition(query: SavedQuery, versions: tuple[SavedQuery, ...]) -> dict[str, Any]:
    return {
        **query.summary(),
        "form": query.form,
        "parameters": [spec.as_json(values_url(query, spec)) for spec in query.parameters],
        "origin": query.origin,
        "version": query.version,
        "versions": [v.version for v in versions],
        "file": query.file,
        "url": url_for("api.run_query", name=query.name),
        "sparql": query.sparql,
    }


@bp.get("/api/queries")
def list_queries() -> Response:
    catalogue = library().current()
    return jsonify(
        queries=[definition(q, catalogue.queries[q.name]) for q in catalogue.latest()],
        problems=[problem.as_json() for problem in catalogue.problems],
    )


def find(name: str, version: int | None = None) -> SavedQuery:
    catalogue = library().current()
    query = catalogue.get(name, version)
    if query is not None:
        return query
    if name in catalogue.queries:
        have = ", ".join(str(q.version) for q in catalogue.queries[name])
        abort(404, f"The saved query '{name}' has no version {version}; it has: {have}.")
    problem = next((p for p in catalogue.problems if Path(p.file).name.split(".")[0] == name), None)
    if problem is not None:
        abort(404, f"The saved query '{name}' is not served because its file has a problem: {problem}")
    abort(404, f"There is no saved query '{name}'; GET /api/queries lists them.")


@bp.get("/api/queries/<name>/definition")
def query_definition(name: str) -> Response:
    query = find(name, version_parameter(request.args))
    response = jsonify(definition(query, library().current().queries[name]))
    response.headers["Samverkan-Query-Version"] = str(query.version)
    return response


@bp.get("/api/queries/<name>/parameters/<parameter>/values")
def parameter_values(name: str, parameter: str) -> Response:
    query = find(name)
    spec = query.parameter(parameter)
    if spec is None:
        abort(404, f"The saved query '{name}' has no parameter '{parameter}'.")
    values = allowed_values(spec, lookup)
    if values is None:
        abort(404, f"Parameter '{parameter}' takes any {spec.type} value; there is no list of values.")
    return jsonify(parameter=parameter, type=spec.type, values=values)


# --- Running a query ---------------------------------------------------------------------------------------


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
        sparql = bind(query.text, arguments(query.parameters, given, lookup))
    except ParameterError as error:
        abort(400, str(error))
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
        answered = answer_query(job, extra=(str(query.version),))  # ETag, 304 and the result cache
    except QuerySyntaxError as error:
        abort(500, f"The saved query '{name}' ({query.file}) was not accepted by the store: {error}")
    response = answered.response()
    response.headers["Samverkan-Query-Version"] = str(query.version)
    answer = answered.answer
    if answer is not None and answer.kind != "boolean":
        response.headers["Samverkan-Rows"] = str(answer.rows)
        response.headers["Samverkan-Offset"] = str(offset)
        response.headers["Samverkan-Limit"] = str(limit)
        links = []
        if answer.truncated:
            links.append(page_link(params, offset + limit, limit, "next"))
        if offset > 0:
            links.append(page_link(params, max(0, offset - limit), limit, "prev"))
        if links:
            response.headers["Link"] = ", ".join(links)
    return response


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
        query, created = library().save(text)
    except QueryFileError as error:
        problems_response(error)
    except PermissionError as error:
        abort(409, str(error))
    response = jsonify(definition(query, library().current().queries[query.name]))
    response.status_code = 201 if created else 200
    response.headers["Location"] = url_for("api.run_query", name=query.name)
    response.headers["Samverkan-Query-Version"] = str(query.version)
    return response


# --- The API document and its page -------------------------------------------------------------------------


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(library().current(), services().config, request.host_url.rstrip("/")))


@bp.get("/api/docs")
def docs_page() -> Response:
    return send_from_directory(Path(__file__).parent / "templates", "api-docs.html", max_age=0)


@bp.get("/api/docs/<filename>")
def docs_asset(filename: str) -> Response:
    if filename not in SWAGGER_FILES:
        abort(404, f"No such file: {filename}.")
    if not (SWAGGER_UI / filename).is_file():
        abort(503, "The API page's assets are missing: run scripts/setup (it installs swagger-ui-dist from npm).")
    return send_from_directory(SWAGGER_UI, filename, max_age=3600)
