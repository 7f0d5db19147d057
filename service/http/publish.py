"""Comparisons of studies and data releases in the API: GET /api/compare (shares, intervals and tests, as JSON
or CSV, citable on a release) and GET /api/releases (docs/citing.md, docs/saved-queries.md)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request, url_for

from service.comparison import DIMENSIONS, compare_studies
from service.formats import JSON_TWIN, RESULT_FORMATS, negotiate
from service.http.context import services
from service.http.release_marks import cite_url, mark
from service.labels import LANGUAGES
from service.parameters import ParameterError
from service.provenance import provenance

bp = Blueprint("publish", __name__)

CSV = next(fmt for fmt in RESULT_FORMATS if fmt.name == "csv")


@bp.get("/api/compare")
def compare() -> Response:
    """Two or more studies side by side along a dimension: the same numbers as the compare page."""
    study_ids = [s for s in request.args.getlist("study") if s.strip()]
    dimension = request.args.get("dimension") or DIMENSIONS[0]
    language = request.args.get("language") or LANGUAGES[0]
    if len(study_ids) < 2:
        abort(400, "Give two or more studies to compare: ?study=A&study=B (GET /api/queries lists the studies' ids).")
    if dimension not in DIMENSIONS:
        abort(400, f"The 'dimension' parameter is one of {', '.join(DIMENSIONS)}; got '{dimension}'.")
    if language not in LANGUAGES:
        abort(400, f"The 'language' parameter is one of {', '.join(LANGUAGES)}; got '{language}'.")
    fmt = negotiate((JSON_TWIN, CSV), request.args.get("format"), request.headers.get("Accept", ""))
    try:
        comparison = compare_studies(services(), study_ids, dimension, language)
    except ParameterError as error:
        abort(400, str(error))
    found = provenance(services(), comparison.query, comparison.bindings)
    if fmt == CSV:
        response = Response(comparison.csv(), mimetype=CSV.media_type)
        response.headers["Content-Disposition"] = f'attachment; filename="compare-{dimension}.csv"'
    else:
        response = jsonify(
            dimension=dimension,
            language=language,
            **comparison.as_json(),
            release=found.as_json(),
            cite=cite_url(found.cite) if found.cite else None,
        )
    response.vary.add("Accept")
    return mark(response, found)


@bp.get("/api/releases")
def releases() -> Response:
    """The data releases, newest first, and whether the store's data still equals the last one."""
    archive = services().releases
    listed = archive.list() if archive else []
    found = provenance(services())
    response = jsonify(
        available=archive is not None,
        status=found.as_json(),
        releases=[
            {**release.as_json(), "sparql": url_for("sparql.release_sparql", release=release.id, _external=True)}
            for release in listed
        ],
    )
    return mark(response, found)
