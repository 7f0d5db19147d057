"""Saved queries as the API and the pages show them: a query's definition with its URLs, and finding a
query by name and version (404 saying what there is instead).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, url_for

from service.http.context import services
from service.parameters import TYPES, ParameterSpec
from service.saved_queries import SavedQuery


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


def find(name: str, version: int | None = None) -> SavedQuery:
    catalogue = services().library.current()
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
