"""What every page shares: its language, its words, its JSON twin, and how IRIs and labels appear on it.

Every page is rendered on the server in Swedish or English and has a JSON twin (`?format=json` or
`Accept: application/json`, as in Datasette), chosen by the service's one content negotiation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, current_app, jsonify, render_template, request

from service.formats import JSON_TWIN, PAGE_FORMATS, Format, NotAcceptable, negotiate
from service.http.context import services
from service.labels import LANGUAGES, Labels, labels_of
from service.namespaces import GRAPH, ID, ONTOLOGY, ONTOLOGY_IRI, PREFIXES, curie

PAGES = Path(__file__).parent
MESSAGES_FILE = PAGES / "static" / "messages.json"
LANGUAGE_COOKIE = "lang"
TEXTS = "samverkan.web"
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


def setup_pages(app: Flask) -> None:
    """Once per app: the interface's words, and the helpers templates use."""
    app.extensions[TEXTS] = load_texts()
    app.jinja_env.globals.update(
        t=translate, lang_url=language_url, local_href=local_href, graph_base=GRAPH, id_base=ID
    )
    app.jinja_env.filters["curie"] = curie


def texts() -> WebTexts:
    return current_app.extensions[TEXTS]  # type: ignore[no-any-return]


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


# --- pages and their JSON twins -------------------------------------------------------------------------------


def page_format(candidates: Sequence[Format] = PAGE_FORMATS) -> Format:
    """HTML, the JSON twin, or (where a page offers them) an RDF format: `?format=` first, then Accept."""
    return negotiate(candidates, request.args.get("format") or None, request.headers.get("Accept", ""))


def json_url() -> str:
    return this_page(format="json", lang=None)


def wants_twin(status: int) -> bool:
    """JSON rather than HTML. A format no page has is refused (406), except on an error page: a 404 asked for as
    Turtle stays a 404, in HTML."""
    try:
        return page_format() == JSON_TWIN
    except NotAcceptable:
        if status < 400:
            raise
        return False


def render_page(template: str, twin: Mapping[str, Any], status: int = 200, **context: Any) -> Response:
    """The page in HTML, or its data as JSON when that is what the client asked for."""
    if wants_twin(status):
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


# --- IRIs and labels on pages ---------------------------------------------------------------------------------


def local_href(iri: str) -> str:
    """Where a browser should go for an IRI: our own resource and ontology pages, else the IRI itself."""
    if iri.startswith(ID):
        return "/id/" + iri[len(ID) :]
    if iri == ONTOLOGY_IRI:
        return "/ontology"
    if iri.startswith(ONTOLOGY):
        return "/ontology#" + iri[len(ONTOLOGY) :]
    return iri


def labels(iris: Iterable[str]) -> Labels:
    """Labels from the graph; terms of other vocabularies get the interface's names (static/messages.json)."""
    return labels_of(services().select, iris, texts().messages)
