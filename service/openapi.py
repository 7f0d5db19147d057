"""The OpenAPI 3.1 document of the saved-query API, generated from the catalogue: one operation per saved query,
with its parameters typed (enum for listed values, a pattern for codes, format date, arrays for several values).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

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
        "Link": {
            "description": 'Paging: rel="next" and rel="prev" URLs; rel="cite-as": the cite URL, when the answer '
            "was computed on a data release (docs/citing.md).",
            "schema": {"type": "string"},
        },
        "Samverkan-Release": {
            "description": "The data release the answer was computed on: ID, 'changed-since ID' or 'none'.",
            "schema": {"type": "string"},
        },
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


BASE_DOCUMENT = Path(__file__).with_name("openapi.yaml")


def openapi_document(catalogue: Catalogue, config: Config, server: str) -> dict[str, Any]:
    """The fixed part (openapi.yaml) with this service's version, server and limits, and one operation per query."""
    document: dict[str, Any] = yaml.safe_load(BASE_DOCUMENT.read_text(encoding="utf-8"))
    queries = catalogue.latest()
    info = document["info"]
    info["version"] = __version__
    info["description"] += (
        f" Every query runs under a time limit of {config.query_timeout:g} s and a cap of {config.max_rows} rows."
    )
    document["servers"] = [{"url": server}]
    document["tags"] += [{"name": tag} for tag in sorted({group(q) for q in queries})]
    for query in queries:
        document["paths"][f"/api/queries/{query.name}"] = {"get": operation(query, config)}
    return document
