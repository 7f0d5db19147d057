"""What an answer says about the data it was computed on: the `Samverkan-Release` header and, for a citable
answer, a `Link: <…>; rel="cite-as"` (RFC 8574) beside any paging links (docs/citing.md)."""

from __future__ import annotations

from flask import Response, request

from service.citation import CiteKey
from service.provenance import Provenance

RELEASE_HEADER = "Samverkan-Release"


def cite_url(key: CiteKey, suffix: str = "") -> str:
    """The absolute cite URL of a key on this host (`suffix`: e.g. /ro-crate.zip)."""
    return request.host_url.rstrip("/") + key.path(suffix)


def mark(response: Response, found: Provenance) -> Response:
    response.headers[RELEASE_HEADER] = found.header()
    if found.cite is not None:
        link = f'<{cite_url(found.cite)}>; rel="cite-as"'
        links = response.headers.get("Link")
        response.headers["Link"] = f"{links}, {link}" if links else link
    return response
