"""The write token: every endpoint that changes data (/update, /store, saving a query) asks here first.

Writes are closed unless the service was started with a token (`--update-token`, or the environment
variable SAMVERKAN_UPDATE_TOKEN); then a request must carry it as `Authorization: Bearer TOKEN`.
"""

from __future__ import annotations

import hmac

from flask import abort, request

from service.http.context import services
from service.http.errors import error_response

WRITES_CLOSED = (
    "Writes are closed on this service: it was started without a write token, so SPARQL Update (/update), "
    "Graph Store writes (/store) and saving queries are turned off. The operator can open them with "
    "'samverkan serve --update-token TOKEN' (or the SAMVERKAN_UPDATE_TOKEN environment variable)."
)


def require_write_token() -> None:
    """Return if the request carries the write token; otherwise abort with 403 (closed, or wrong) or 401."""
    token = services().config.update_token
    if not token:
        abort(403, WRITES_CLOSED)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        response = error_response(
            401, "This request changes data and needs the write token, sent as 'Authorization: Bearer TOKEN'."
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="samverkan"'
        abort(response)
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        abort(403, "The bearer token in the Authorization header is not this service's write token.")
