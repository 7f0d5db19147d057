"""Cite URLs: /cite/<release>/<query>/v<version>?parameters, the landing page of a cited result (with its JSON
twin), its rows in any results format, and /ro-crate.zip beside it (docs/citing.md).

The URL is canonical: parameters given in another order or spelling (a municipality by name) are sent, with
301, to the one URL the result is cited by. The rows are always computed again on the release's snapshot and
checked against the recorded checksum (service/provenance.py).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, abort, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.citation import citation_texts, ro_crate_zip
from service.formats import PAGE_FORMATS, RESULT_FORMATS, serialize
from service.http.context import services
from service.http.pages.rendering import page_format, page_language, remember_language, render_page
from service.http.release_marks import cite_url, mark
from service.parameters import ParameterError
from service.provenance import Citation, citation, on_release, resolve

bp = Blueprint("cite", __name__)
bp.after_request(remember_language)

PAGE_ARGUMENTS = ("lang", "format")  # of the page, not of the query


def cited(release: str, name: str, version: int, suffix: str = "") -> Citation | BaseResponse:
    """The citation the URL names, or a 301 to its canonical URL."""
    given = [(key, value) for key, value in request.args.items(multi=True) if key not in PAGE_ARGUMENTS]
    values: dict[str, list[str]] = {}
    for key, value in given:
        values.setdefault(key, []).append(value)
    try:
        found = citation(services(), release, name, version, values)
    except ParameterError as error:
        abort(400, str(error))
    canonical = [(key, value) for key, values_ in found.key.parameters for value in values_]
    if given != canonical:
        kept = [(key, value) for key, value in request.args.items(multi=True) if key in PAGE_ARGUMENTS]
        location = found.key.path(suffix)
        if kept:
            location += ("&" if "?" in location else "?") + urlencode(kept)
        return redirect(location, code=301)
    return found


@bp.get("/cite/<release>/<name>/v<int:version>")
def cite_page(release: str, name: str, version: int) -> BaseResponse:
    found = cited(release, name, version)
    if isinstance(found, BaseResponse):
        return found
    fmt = page_format((*PAGE_FORMATS, *RESULT_FORMATS))
    record, table = resolve(services(), found)
    url = cite_url(found.key)
    if fmt not in PAGE_FORMATS:
        response = Response(serialize(table.solutions(), fmt), content_type=f"{fmt.media_type}; charset=utf-8")
    else:
        lang = page_language()
        twin = {
            **record.as_json(),
            "release": found.release.as_json(),  # in place of the record's bare identifier
            "cite": url,
            "ro_crate": cite_url(found.key, "/ro-crate.zip"),
            "csv": url + ("&" if "?" in url else "?") + "format=csv",
            "sparql_endpoint": url_for("sparql.release_sparql", release=found.release.id, _external=True),
            "citation": citation_texts(record, found.release, url, lang).as_json(),
        }
        response = render_page("cite.html", twin, title=getattr(record.title, lang))
    response.vary.add("Accept")
    response.headers["Link"] = f'<{url}>; rel="cite-as"'
    return mark(response, on_release(found.release))


@bp.get("/cite/<release>/<name>/v<int:version>/ro-crate.zip")
def cite_crate(release: str, name: str, version: int) -> BaseResponse:
    found = cited(release, name, version, "/ro-crate.zip")
    if isinstance(found, BaseResponse):
        return found
    record, table = resolve(services(), found)
    url = cite_url(found.key)
    response = Response(ro_crate_zip(record, found.release, table, url), mimetype="application/zip")
    filename = f"{found.key.query}-v{found.key.version}-{found.release.id}.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Link"] = f'<{url}>; rel="cite-as"'
    return mark(response, on_release(found.release))
