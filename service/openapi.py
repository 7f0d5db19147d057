"""The OpenAPI 3.1 document of the saved-query API, generated from the catalogue: one operation per saved query,
with its parameters typed (enum for listed values, a pattern for codes, format date, arrays for several values).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service import __version__
from service.config import Config
from service.formats import BOOLEAN_FORMATS, GRAPH_FORMATS, RESULT_FORMATS, Format
from service.parameters import BOOLEAN_WORDS, TYPES, ParameterSpec
from service.saved_queries import Catalogue, SavedQuery

MAX_WHOLE_NUMBER = 1_000_000_000  # the largest `offset` (or version): far beyond any answer, keeps paging in range

JSON_TYPES: dict[str, Callable[[str], Any]] = {
    "integer": int,
    "decimal": lambda v: float(v.replace(",", ".")),
    "boolean": lambda v: BOOLEAN_WORDS[v.strip().lower()],
}
ERROR = {"$ref": "#/components/responses/Error"}
# Answered by the HTTP server (gunicorn) before the request reaches the service, so there is no JSON body.
URI_TOO_LONG = {"description": "The URL is over 8190 bytes: send the same parameters form-encoded with POST."}


def formats_of(query: SavedQuery) -> tuple[Format, ...]:
    if query.form in ("construct", "describe"):
        return GRAPH_FORMATS
    return BOOLEAN_FORMATS if query.form == "ask" else RESULT_FORMATS


def group(query: SavedQuery) -> str:
    """Where the API page lists the query: under its first tag (researchers' own queries under 'user')."""
    return query.tags[0] if query.tags else query.origin


def _json_value(spec: ParameterSpec, value: str) -> Any:
    convert = JSON_TYPES.get(spec.type)
    return convert(value) if convert else value


def parameter_schema(spec: ParameterSpec) -> dict[str, Any]:
    ptype = TYPES[spec.type]
    schema: dict[str, Any] = dict(ptype.schema)
    if spec.values:
        schema["enum"] = [_json_value(spec, v) for v in spec.values]
    if spec.multiple:
        schema = {"type": "array", "items": schema}
        if spec.default:
            schema["default"] = [_json_value(spec, v) for v in spec.default]
    elif spec.default:
        schema["default"] = _json_value(spec, spec.default[0])
    return schema


def query_parameter(spec: ParameterSpec) -> dict[str, Any]:
    about = TYPES[spec.type].about
    if spec.scheme:
        about += f" (scheme {spec.scheme})"
    sv, en = spec.description.sv, spec.description.en
    text = en if en == sv else f"{en} / {sv}"
    parameter: dict[str, Any] = {
        "name": spec.name,
        "in": "query",
        "required": spec.required,
        "description": f"{text} — {about}." if text else f"{about[0].upper()}{about[1:]}.",
        "schema": parameter_schema(spec),
    }
    examples = TYPES[spec.type].schema.get("examples")
    if examples and not spec.default:
        parameter["example"] = [examples[0]] if spec.multiple else examples[0]
    if spec.multiple:
        parameter |= {"style": "form", "explode": True}
    return parameter


def operation(query: SavedQuery, config: Config) -> dict[str, Any]:
    formats = formats_of(query)
    paging = [
        {
            "name": "limit",
            "in": "query",
            "description": f"Rows in one answer (at most {config.max_rows}); a Link header points to the next page.",
            "schema": {"type": "integer", "minimum": 1, "maximum": config.max_rows},
        },
        {
            "name": "offset",
            "in": "query",
            "description": "Rows to skip before the answer starts.",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_WHOLE_NUMBER, "default": 0},
        },
    ]
    common = [
        {
            "name": "format",
            "in": "query",
            "description": "The result format (wins over the Accept header).",
            "schema": {"type": "string", "enum": [f.name for f in formats]},
        },
        {
            "name": "timeout",
            "in": "query",
            "description": f"Seconds the query may run, below the service's limit of {config.query_timeout:g}.",
            "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": config.query_timeout},
        },
        {
            "name": "version",
            "in": "query",
            "description": f"The version to run; the latest ({query.version}) when left out.",
            "schema": {"type": "integer", "minimum": 1, "default": query.version},
        },
    ]
    headers = {
        "Samverkan-Query-Version": {
            "description": "The version of the saved query that ran.",
            "schema": {"type": "integer"},
        },
        "Samverkan-Rows": {"description": "Rows (or triples) in this answer.", "schema": {"type": "integer"}},
        "Samverkan-Truncated": {
            "description": "Present when more rows follow: the answer was cut at the limit.",
            "schema": {"type": "string"},
        },
        "Link": {"description": 'Paging: rel="next" and rel="prev" URLs.', "schema": {"type": "string"}},
    }
    content: dict[str, Any] = {
        f.media_type: {"schema": {"type": ["array", "object"]} if f.media_type.endswith("json") else {"type": "string"}}
        for f in formats
    }
    if query.form in ("select", "ask"):
        content["application/sparql-results+json"] = {"schema": {"$ref": "#/components/schemas/SparqlResults"}}
    return {
        "operationId": query.name,
        "summary": query.title.en,
        "description": f"{query.description.en}\n\n*{query.title.sv}*: {query.description.sv}\n\n"
        f"Run with GET, or POST the same parameters form-encoded. Suggested view: {query.view.get('type')}. "
        f"File: `{query.file}`.",
        "tags": [group(query)],
        "parameters": [query_parameter(spec) for spec in query.parameters]
        + (paging if query.form != "ask" else [])
        + common,
        "responses": {
            "200": {"description": f"The {query.form.upper()} answer.", "headers": headers, "content": content},
            "400": ERROR,
            "404": ERROR,
            "406": ERROR,
            "414": URI_TOO_LONG,
            "422": ERROR,
            "503": ERROR,
        },
    }


def openapi_document(catalogue: Catalogue, config: Config, server: str) -> dict[str, Any]:
    queries = catalogue.latest()
    paths: dict[str, Any] = {
        "/api/queries": {
            "get": {
                "operationId": "listQueries",
                "summary": "The catalogue of saved queries",
                "description": "Every saved query with its metadata, parameters and SPARQL text, and the query files "
                "that are not served because of a problem (file, line, message).",
                "tags": ["catalogue"],
                "responses": {
                    "200": {
                        "description": "The catalogue.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Catalogue"}}},
                    }
                },
            },
            "post": {
                "operationId": "saveQuery",
                "summary": "Save a query of your own (needs the write token)",
                "description": "The query is checked as a file would be and stored as the next version of its name; "
                "it is served at /api/queries/{name} at once. Curated names cannot be taken.",
                "tags": ["catalogue"],
                "security": [{"writeToken": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/NewQuery"}},
                        "application/sparql-query": {"schema": {"type": "string", "description": "A .rq file."}},
                    },
                },
                "responses": {
                    "200": {"description": "The same text was already the latest version."},
                    "201": {"description": "Saved as a new version."},
                    "400": ERROR,
                    "401": ERROR,
                    "403": ERROR,
                    "409": ERROR,
                },
            },
        },
        "/api/queries/{name}/definition": {
            "get": {
                "operationId": "queryDefinition",
                "summary": "One saved query's metadata, parameters and SPARQL",
                "tags": ["catalogue"],
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "version", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": {"200": {"description": "The definition."}, "400": ERROR, "404": ERROR},
            }
        },
        "/api/queries/{name}/parameters/{parameter}/values": {
            "get": {
                "operationId": "parameterValues",
                "summary": "The values a parameter allows (municipalities, studies, concepts …), for drop-downs",
                "tags": ["catalogue"],
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "parameter", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {"description": "value and label of each allowed value."},
                    "400": ERROR,
                    "404": ERROR,
                },
            }
        },
    }
    for query in queries:
        paths[f"/api/queries/{query.name}"] = {"get": operation(query, config)}
    tags = sorted({group(q) for q in queries})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Samverkan KG saved queries",
            "version": __version__,
            "description": "Saved SPARQL queries on how Swedish municipalities lead and govern samverkan "
            "(collaboration), run with typed parameters. Each query is a .rq file; see docs/saved-queries.md. "
            f"Every query runs under a time limit of {config.query_timeout:g} s and a cap of {config.max_rows} rows.",
            "license": {"name": "MIT (code); CC BY 4.0 (data)", "identifier": "MIT"},
        },
        "servers": [{"url": server}],
        "tags": [{"name": "catalogue", "description": "The catalogue itself"}] + [{"name": t} for t in tags],
        "paths": paths,
        "components": {
            "securitySchemes": {"writeToken": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "What is wrong, in plain words (the parameter, the value, what is allowed).",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "status", "message"],
                    "properties": {
                        "error": {"type": "string"},
                        "status": {"type": "integer"},
                        "message": {"type": "string"},
                        "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
                    },
                },
                "Problem": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string"},
                        "line": {"type": ["integer", "null"]},
                        "message": {"type": "string"},
                    },
                },
                "SparqlResults": {
                    "type": "object",
                    "description": "SPARQL 1.1 Query Results JSON Format (https://www.w3.org/TR/sparql11-results-json/).",
                    "properties": {
                        "head": {"type": "object"},
                        "results": {"type": "object"},
                        "boolean": {"type": "boolean"},
                    },
                },
                "Catalogue": {
                    "type": "object",
                    "properties": {
                        "queries": {"type": "array", "items": {"type": "object"}},
                        "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
                    },
                },
                "NewQuery": {
                    "type": "object",
                    "required": ["name", "title", "description", "sparql"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
                        "title": {"type": ["string", "object"], "description": "{sv: …, en: …}"},
                        "description": {"type": ["string", "object"]},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "view": {"type": "object"},
                        "parameters": {"type": "object", "description": "As in a file's header."},
                        "sparql": {"type": "string"},
                    },
                },
            },
        },
    }
