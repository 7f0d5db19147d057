"""The researcher's web pages: the query editor at `/`, the saved-query gallery and the study comparison.

Every page is rendered on the server in Swedish or English and has a JSON twin (`?format=json` or
`Accept: application/json`, as in Datasette). Third-party browser code comes from node_modules,
installed from the npm registry by scripts/setup, through `/assets/…`, which serves only the files
named in VENDOR_ASSETS: the pages load nothing from any other host.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, render_template, request, send_file, url_for
from werkzeug.datastructures import MIMEAccept

from service.api import definition, find, library, lookup
from service.app import services
from service.config import PROJECT_ROOT
from service.executor import QueryJob
from service.namespaces import BASE, GRAPH, ID, ONTOLOGY, ONTOLOGY_IRI, PREFIXES
from service.parameters import ParameterError, allowed_values, arguments, bind
from service.saved_queries import Catalogue, SavedQuery

bp = Blueprint("web", __name__)

LANGUAGES = ("sv", "en")
LANGUAGE_COOKIE = "lang"
MESSAGES_FILE = Path(__file__).parent / "static" / "messages.json"
NODE_MODULES = PROJECT_ROOT / "node_modules"

# The only files of node_modules the pages may load: name under /assets/ -> path under node_modules/.
VENDOR_ASSETS: Mapping[str, str] = {
    "yasgui.min.js": "@zazuko/yasgui/build/yasgui.min.js",
    "yasgui.min.css": "@zazuko/yasgui/build/yasgui.min.css",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}

# Pages may load scripts, styles, images and data from this service only (inline styles: CodeMirror sets them).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'"
)


@dataclass(frozen=True)
class WebTexts:
    """The interface's words in each language, read once per app from static/messages.json."""

    messages: Mapping[str, Mapping[str, str]]

    def text(self, key: str, lang: str) -> str:
        texts = self.messages.get(key)
        return texts[lang] if texts else key

    def catalogue(self, lang: str) -> dict[str, str]:
        return {key: texts[lang] for key, texts in self.messages.items()}


def load_texts(path: Path = MESSAGES_FILE) -> WebTexts:
    messages = json.loads(path.read_text(encoding="utf-8"))
    for key, texts in messages.items():
        missing = [lang for lang in LANGUAGES if not texts.get(lang)]
        if missing:
            raise ValueError(f"{path}: message '{key}' has no text in {', '.join(missing)}")
    return WebTexts(messages)


@bp.record_once
def _setup(state: Any) -> None:
    app: Flask = state.app
    app.extensions["samverkan.web"] = load_texts()
    app.jinja_env.globals.update(
        t=translate, lang_url=language_url, local_href=local_href, graph_base=GRAPH, id_base=ID
    )
    app.jinja_env.filters["curie"] = curie


def texts() -> WebTexts:
    return current_app.extensions["samverkan.web"]  # type: ignore[no-any-return]


# --- language ------------------------------------------------------------------------------------------------


def page_language() -> str:
    """`?lang=` first, then the remembered choice (cookie), then the browser's languages; Swedish by default."""
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(LANGUAGE_COOKIE, "")
    if remembered in LANGUAGES:
        return remembered
    return request.accept_languages.best_match(LANGUAGES) or "sv"


def translate(key: str, **values: Any) -> str:
    text = texts().text(key, page_language())
    return text.format(**values) if values else text


def this_page(**changes: str | None) -> str:
    """This page's path and query string with some arguments set (or, given None, removed)."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key not in changes]
    args += [(key, value) for key, value in changes.items() if value is not None]
    return request.path + ("?" + urlencode(args) if args else "")


def language_url(lang: str) -> str:
    return this_page(lang=lang, format=None)


def remember_language(response: Response) -> Response:
    """Keep a language chosen with `?lang=` for the next pages (a year), and lock the pages to this service.

    Registered by each page blueprint (after_request), so other blueprints' responses are left alone.
    """
    asked = request.args.get("lang", "")
    if asked in LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != asked:
        response.set_cookie(LANGUAGE_COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax")
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.vary.add("Cookie")  # the language of pages and of the labels in their JSON twins
    response.vary.add("Accept-Language")
    return response


bp.after_request(remember_language)


# --- pages and their JSON twins -------------------------------------------------------------------------------


def wants_json() -> bool:
    """Datasette-style twin: `?format=json`, or an Accept header that prefers JSON to HTML."""
    fmt = request.args.get("format", "").lower()
    if fmt:
        return fmt == "json"
    accept: MIMEAccept = request.accept_mimetypes
    return accept.best_match(["text/html", "application/json"]) == "application/json"


def json_url() -> str:
    return this_page(format="json", lang=None)


def render_page(template: str, twin: Mapping[str, Any], status: int = 200, **context: Any) -> Response:
    """The page in HTML, or its data as JSON when that is what the client asked for."""
    if wants_json():
        response = jsonify(twin)
    else:
        lang = page_language()
        html = render_template(
            template,
            lang=lang,
            data=twin,
            json_url=json_url(),
            messages=texts().catalogue(lang),
            prefixes=PREFIXES,
            **context,
        )
        response = Response(html, mimetype="text/html")
    response.status_code = status
    response.vary.add("Accept")
    return response


# --- IRIs on pages --------------------------------------------------------------------------------------------


def local_href(iri: str) -> str:
    """Where a browser should go for an IRI: our own resource and ontology pages, else the IRI itself."""
    if iri.startswith(ID):
        return "/id/" + iri[len(ID) :]
    if iri == ONTOLOGY_IRI:
        return "/ontology"
    if iri.startswith(ONTOLOGY):
        return "/ontology#" + iri[len(ONTOLOGY) :]
    return iri


def curie(iri: str) -> str:
    """The IRI shortened with our usual prefixes (samv:Actor), or unchanged."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


# --- running SPARQL for a page --------------------------------------------------------------------------------

Term = dict[str, str]  # an RDF term as SPARQL 1.1 JSON results give it
Binding = dict[str, Term]


def select(sparql: str) -> list[Binding]:
    """The rows of a SELECT the page needs, run through the executor (so the service's limits hold)."""
    result = services().executor.run(QueryJob(sparql, format="json"))
    return json.loads(result.body)["results"]["bindings"]  # type: ignore[no-any-return]


# --- labels of things -------------------------------------------------------------------------------------------

LABEL_PROPERTIES = (PREFIXES["skos"] + "prefLabel", PREFIXES["rdfs"] + "label", PREFIXES["dcterms"] + "title")
# Characters that may not stand in an IRI written <…> in SPARQL: such an IRI names nothing of ours.
NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def labels_of(iris: Iterable[str]) -> dict[str, dict[str, str]]:
    """Each IRI's label by language ('' for none), from skos:prefLabel, rdfs:label or dcterms:title.

    Labels come from the graph; a few terms of other vocabularies have names in static/messages.json.
    """
    wanted = sorted({iri for iri in iris if not NOT_IN_IRI.search(iri)})
    if not wanted:
        return {}
    values = " ".join(f"<{iri}>" for iri in wanted)
    props = " ".join(f"<{p}>" for p in LABEL_PROPERTIES)
    rows = select(
        f"SELECT DISTINCT ?x ?p ?label WHERE {{ VALUES ?x {{ {values} }} VALUES ?p {{ {props} }} ?x ?p ?label }}"
    )
    rank = {p: i for i, p in enumerate(LABEL_PROPERTIES)}
    best: dict[str, dict[str, tuple[int, str]]] = {}
    for row in rows:
        if row["label"]["type"] != "literal":
            continue
        lang = row["label"].get("xml:lang", "").lower()
        candidate = (rank[row["p"]["value"]], row["label"]["value"])
        by_lang = best.setdefault(row["x"]["value"], {})
        if lang not in by_lang or candidate < by_lang[lang]:
            by_lang[lang] = candidate
    labels = {iri: {lang: text for lang, (_, text) in by_lang.items()} for iri, by_lang in best.items()}
    for iri in wanted:  # terms of other vocabularies (rdf:type, dcterms:source …) get the interface's names
        known = texts().messages.get("term:" + curie(iri))
        if iri not in labels and known:
            labels[iri] = dict(known)
    return labels


def pick(by_language: Mapping[str, str], lang: str) -> str | None:
    """The text in the reader's language, else the other one, else one without a language."""
    for key in (lang, *(other for other in LANGUAGES if other != lang), ""):
        if by_language.get(key):
            return by_language[key]
    return next(iter(by_language.values()), None)


# --- third-party assets ---------------------------------------------------------------------------------------


@bp.get("/assets/<name>")
def vendor_asset(name: str) -> Response:
    relative = VENDOR_ASSETS.get(name)
    if relative is None:
        abort(404, f"/assets/ serves only {', '.join(sorted(VENDOR_ASSETS))}.")
    path = NODE_MODULES / relative
    if not path.is_file():
        abort(404, f"{relative} is not installed: run scripts/setup (it runs `npm ci`).")
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
    return library().current()


def parameter_choices(query: SavedQuery) -> dict[str, list[dict[str, str]]]:
    """The drop-down of each parameter that has a list of values, labelled in the page's language."""
    choices = {}
    for spec in query.parameters:
        values = allowed_values(spec, lookup)
        if values is not None:
            choices[spec.name] = values
    iris = [v["value"] for values in choices.values() for v in values if v["value"].startswith(BASE)]
    labels = labels_of(iris) if iris else {}
    lang = page_language()
    for values in choices.values():
        for value in values:
            value["label"] = pick(labels.get(value["value"], {}), lang) or value["label"]
        values.sort(key=lambda v: v["label"].casefold())
    return choices


def gallery_entry(query: SavedQuery) -> dict[str, Any]:
    return {
        **query.summary(),
        "parameters": [spec.name for spec in query.parameters],
        "page": url_for("web.saved_query", name=query.name),
        "api": url_for("api.run_query", name=query.name),
    }


@bp.get("/queries")
def gallery() -> Response:
    queries = saved_queries().latest()
    tags = sorted({tag for query in queries for tag in query.tags}, key=str.casefold)
    twin = {"queries": [gallery_entry(q) for q in queries], "tags": tags}
    return render_page("gallery.html", twin, active="gallery", selected=None)


@bp.get("/queries/<name>")
def saved_query(name: str) -> Response:
    catalogue = saved_queries()
    query = find(name)
    tags = sorted({tag for q in catalogue.latest() for tag in q.tags}, key=str.casefold)
    twin = {
        "queries": [gallery_entry(q) for q in catalogue.latest()],
        "tags": tags,
        "query": definition(query, catalogue.queries[query.name]),
        "choices": parameter_choices(query),
        "given": {key: request.args.getlist(key) for key in request.args if key not in ("lang", "format")},
    }
    return render_page("gallery.html", twin, active="gallery", selected=twin["query"])


# --- comparing studies ------------------------------------------------------------------------------------------

COMPARE_QUERY = "compare-studies-side-by-side"
DIMENSIONS = ("sector", "form", "goal", "tool", "topic")
STUDY = ID + "study/"


def study_choices() -> list[dict[str, str]]:
    """Every study (themes and sub-studies too) with its id and its name in the page's language."""
    query = saved_queries().get(COMPARE_QUERY)
    if query is None:
        return []
    choices = parameter_choices(query).get("study", [])
    return [{"id": c["value"][len(STUDY) :], **c} for c in choices if c["value"].startswith(STUDY)]


@dataclass(frozen=True)
class Comparison:
    """The studies side by side along one dimension: per concept, each study's count and share."""

    studies: list[dict[str, Any]]  # id, iri, label, total
    rows: list[dict[str, Any]]  # iri, label, cells: [{count, percent}] in the order of studies
    left_out: int  # concepts no chosen study has

    def as_json(self) -> dict[str, Any]:
        return {"studies": self.studies, "rows": self.rows, "left_out": self.left_out}

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        header = ["value", "label"]
        for study in self.studies:
            header += [f"{study['id']} count", f"{study['id']} total", f"{study['id']} percent"]
        writer.writerow(header)
        for row in self.rows:
            line = [row["iri"], row["label"]]
            for study, cell in zip(self.studies, row["cells"], strict=True):
                line += [cell["count"], study["total"], cell["percent"]]
            writer.writerow(line)
        return out.getvalue()


def compare_studies(study_ids: list[str], dimension: str) -> Comparison:
    """Run the saved comparison query and put the studies side by side (ParameterError for a bad study)."""
    query = saved_queries().get(COMPARE_QUERY)
    if query is None:
        abort(503, f"The saved query {COMPARE_QUERY} is not served; see GET /api/queries for its problem.")
    given = {"study": study_ids, "dimension": [dimension], "language": [page_language()]}
    rows = select(bind(query.text, arguments(query.parameters, given, lookup)))
    studies: dict[str, dict[str, Any]] = {}
    concepts: dict[str, dict[str, Any]] = {}
    for row in rows:
        iri = row["study"]["value"]
        studies.setdefault(
            iri,
            {
                "id": iri[len(STUDY) :],
                "iri": iri,
                "label": row["studyLabel"]["value"],
                "total": int(row["total"]["value"]),
            },
        )
        concept = concepts.setdefault(
            row["value"]["value"], {"iri": row["value"]["value"], "label": row["valueLabel"]["value"], "by": {}}
        )
        concept["by"][iri] = {"count": int(row["count"]["value"]), "percent": float(row["percent"]["value"])}
    order = [STUDY + sid if not sid.startswith(STUDY) else sid for sid in study_ids]
    chosen = [studies[iri] for iri in dict.fromkeys(order) if iri in studies]
    chosen += [s for iri, s in studies.items() if iri not in order]
    table = []
    for concept in concepts.values():
        cells = [concept["by"].get(s["iri"], {"count": 0, "percent": 0.0}) for s in chosen]
        if any(cell["count"] for cell in cells):
            table.append({"iri": concept["iri"], "label": concept["label"], "cells": cells})
    table.sort(key=lambda r: (-max(c["percent"] for c in r["cells"]), r["label"].casefold()))
    return Comparison(chosen, table, len(concepts) - len(table))


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
        "error": None,
    }
    status = 200
    if dimension not in DIMENSIONS:
        twin["error"] = translate("compare_bad_dimension", given=dimension, allowed=", ".join(DIMENSIONS))
        status = 400
    elif study_ids and len(study_ids) < 2:
        twin["error"] = translate("compare_two_studies")
        status = 400
    elif study_ids:
        try:
            comparison = compare_studies(study_ids, dimension)
        except ParameterError as error:
            twin["error"] = str(error)
            status = 400
        else:
            if request.args.get("format") == "csv":
                response = Response(comparison.csv(), mimetype="text/csv")
                response.headers["Content-Disposition"] = f'attachment; filename="compare-{dimension}.csv"'
                return response
            twin["comparison"] = comparison.as_json()
            api_args = [("study", sid) for sid in study_ids] + [("dimension", dimension), ("format", "csv")]
            twin["api_csv"] = url_for("api.run_query", name=COMPARE_QUERY) + "?" + urlencode(api_args)
            twin["csv"] = url_for("web.compare", study=study_ids, dimension=dimension, format="csv")
    return render_page("compare.html", twin, status=status, active="compare")
