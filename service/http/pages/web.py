"""The researcher's web pages: the query editor at `/`, the saved-query gallery and the study comparison.

Every page is rendered on the server in Swedish or English and has a JSON twin (rendering.py).
Third-party browser code comes from node_modules (installed from the npm registry by scripts/setup, or carried
by the wheel: service/shipped_files.py) through `/assets/…`, which serves only the files named in VENDOR_ASSETS:
the pages load nothing from any other host. A page whose browser code did not load says so (static/common.js).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, jsonify, request, send_file, url_for

from service.comparison import CODED_DIMENSIONS, COMPARE_QUERY, DIMENSIONS, STUDY, coding_coverage, compare_studies
from service.http.context import services
from service.http.pages.rendering import labels, page_language, remember_language, render_page, translate
from service.http.release_marks import cite_url, mark
from service.http.saved import definition, find
from service.labels import pick
from service.namespaces import BASE, PREFIXES
from service.parameters import ParameterError, allowed_values
from service.provenance import provenance
from service.saved_queries import Catalogue, SavedQuery
from service.shipped_files import ASSETS_FIX, VENDOR_ASSETS

bp = Blueprint("web", __name__)
bp.after_request(remember_language)

# --- third-party assets ---------------------------------------------------------------------------------------


@bp.get("/assets/<name>")
def vendor_asset(name: str) -> Response:
    relative = VENDOR_ASSETS.get(name)
    if relative is None:
        abort(404, f"/assets/ serves only {', '.join(sorted(VENDOR_ASSETS))}.")
    path = services().config.browser_assets / relative
    if not path.is_file():
        abort(404, f"{relative} is not installed: {ASSETS_FIX}.")
    return send_file(path, max_age=24 * 3600)


# --- the query editor -----------------------------------------------------------------------------------------


def prologue() -> str:
    return "".join(f"PREFIX {prefix}: <{namespace}>\n" for prefix, namespace in PREFIXES.items())


@bp.get("/prefixes.json")
def prefixes() -> Response:
    """Our prefixes, in the form the editor's prefix completion reads (prefix.cc's), so it never calls out."""
    return jsonify(PREFIXES)


@bp.get("/")
def editor() -> Response:
    query = request.args.get("query") or prologue() + "\nSELECT * WHERE {\n  ?s ?p ?o\n}\nLIMIT 10\n"
    examples = editor_examples()
    twin = {"endpoint": url_for("sparql.sparql"), "query": query, "prefixes": PREFIXES, "examples": examples}
    return render_page("editor.html", twin, active="editor", query=query, examples=examples)


def editor_examples() -> list[dict[str, str]]:
    """The saved queries as examples, their parameters left free (a free parameter matches everything)."""
    lang = page_language()
    return [
        {"name": query.name, "title": getattr(query.title, lang), "sparql": query.sparql}
        for query in saved_queries().latest()
        if query.form == "select" and not any(spec.required for spec in query.parameters)
    ]


# --- the saved-query gallery ------------------------------------------------------------------------------------


def saved_queries() -> Catalogue:
    return services().library.current()


def parameter_choices(query: SavedQuery) -> dict[str, list[dict[str, str]]]:
    """The drop-down of each parameter that has a list of values, labelled in the page's language."""
    choices = {}
    for spec in query.parameters:
        values = allowed_values(spec, services().candidates())
        if values is not None:
            choices[spec.name] = values
    iris = [v["value"] for values in choices.values() for v in values if v["value"].startswith(BASE)]
    found = labels(iris) if iris else {}
    lang = page_language()
    for values in choices.values():
        for value in values:
            value["label"] = pick(found.get(value["value"], {}), lang) or value["label"]
        values.sort(key=lambda v: v["label"].casefold())
    return choices


def gallery_entry(query: SavedQuery) -> dict[str, Any]:
    return {
        **query.summary(),
        "parameters": [spec.name for spec in query.parameters],
        "page": url_for("web.saved_query", name=query.name),
        "api": url_for("api.run_query", name=query.name),
    }


def codebook_url() -> str:
    """Our codebook (REFI-QDA) with labels in the page's language."""
    return url_for("api.codebook", language=page_language())


@bp.get("/queries")
def gallery() -> Response:
    queries = saved_queries().latest()
    tags = sorted({tag for query in queries for tag in query.tags}, key=str.casefold)
    twin = {"queries": [gallery_entry(q) for q in queries], "tags": tags, "codebook": codebook_url()}
    return render_page("gallery.html", twin, active="gallery", selected=None)


@bp.get("/queries/<name>")
def saved_query(name: str) -> Response:
    catalogue = saved_queries()
    query = find(name)
    tags = sorted({tag for q in catalogue.latest() for tag in q.tags}, key=str.casefold)
    twin = {
        "queries": [gallery_entry(q) for q in catalogue.latest()],
        "tags": tags,
        "codebook": codebook_url(),
        "query": definition(query, catalogue.queries[query.name]),
        "choices": parameter_choices(query),
        "given": {key: request.args.getlist(key) for key in request.args if key not in ("lang", "format")},
    }
    return render_page("gallery.html", twin, active="gallery", selected=twin["query"])


# --- comparing studies ------------------------------------------------------------------------------------------


def study_choices() -> list[dict[str, str]]:
    """Every study (themes and sub-studies too) with its id and its name in the page's language."""
    query = saved_queries().get(COMPARE_QUERY)
    if query is None:
        return []
    choices = parameter_choices(query).get("study", [])
    return [{"id": c["value"][len(STUDY) :], **c} for c in choices if c["value"].startswith(STUDY)]


@bp.get("/compare")
def compare() -> Response:
    study_ids = [s for s in request.args.getlist("study") if s]
    dimension = request.args.get("dimension") or DIMENSIONS[0]
    choices = study_choices()
    twin: dict[str, Any] = {
        "studies": choices,
        "dimensions": list(DIMENSIONS),
        "chosen": {"studies": study_ids, "dimension": dimension},
        "query": url_for("web.saved_query", name=COMPARE_QUERY),
        "comparison": None,
        "coverage": None,
        "error": None,
    }
    status = 200
    found = provenance(services())
    if dimension not in DIMENSIONS:
        twin["error"] = translate("compare_bad_dimension", given=dimension, allowed=", ".join(DIMENSIONS))
        status = 400
    elif study_ids and len(study_ids) < 2:
        twin["error"] = translate("compare_two_studies")
        status = 400
    elif study_ids:
        try:
            comparison = compare_studies(services(), study_ids, dimension, page_language())
            coded = (dimension,) if dimension in CODED_DIMENSIONS else CODED_DIMENSIONS
            coverage = coding_coverage(services(), study_ids, coded)
        except ParameterError as error:
            twin["error"] = str(error)
            status = 400
        else:
            found = provenance(services(), comparison.query, comparison.bindings)
            if request.args.get("format") == "csv":
                response = Response(comparison.csv(), mimetype="text/csv")
                response.headers["Content-Disposition"] = f'attachment; filename="compare-{dimension}.csv"'
                return mark(response, found)
            twin["comparison"] = comparison.as_json()
            twin["coverage"] = coverage.as_json()
            twin["release"] = found.as_json()
            twin["cite"] = cite_url(found.cite) if found.cite else None
            api_args = [("study", sid) for sid in study_ids] + [("dimension", dimension), ("format", "csv")]
            twin["api_csv"] = url_for("api.run_query", name=COMPARE_QUERY) + "?" + urlencode(api_args)
            twin["csv"] = url_for("web.compare", study=study_ids, dimension=dimension, format="csv")
    return mark(render_page("compare.html", twin, status=status, active="compare"), found)
