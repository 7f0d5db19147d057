"""Which URLs a query or an update may make the server fetch: only those on the operator's allow-lists.

Oxigraph (pyoxigraph 0.5.13) fetches for real: `LOAD <url>` downloads and parses the document, and
`SERVICE <url>` posts a query to that endpoint, from the server's own network position. Left open,
anyone could make the service read its cloud metadata (http://169.254.169.254/), its own loopback
ports, or other internal hosts. So every SERVICE and LOAD target is checked before the store sees the
text: it must be an absolute http(s) IRI matching an allow-list entry, or the request is refused.
A SERVICE whose endpoint is a variable is refused too, since its target is only known while running.
(pyoxigraph does not follow redirects, so an allowed host cannot pass the request on to another.)
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit

from service.sparql_lexer import Target, has_keyword, keyword_targets


class FetchRefused(ValueError):
    """A SERVICE or LOAD target that is not on the allow-list; the message names it and how to allow it."""


def fetches(sparql: str, base_iri: str | None = None) -> list[Target]:
    """Every SERVICE and LOAD in the text, with the absolute IRI it would fetch."""
    return keyword_targets(sparql, ("SERVICE", "LOAD"), base_iri)


def calls_service(sparql: str) -> bool:
    """Whether a query's answer depends on another endpoint (so it is not cached by our data version)."""
    return has_keyword(sparql, "SERVICE")


def allowed(iri: str, entries: Sequence[str]) -> bool:
    """Whether an http(s) IRI is on the list: same scheme, host and port, and the entry's path exactly,
    or under it when the entry ends with '/' (an entry with no path allows the whole host)."""
    target = urlsplit(iri)
    if target.scheme not in ("http", "https") or not target.hostname or target.username is not None:
        return False
    for entry in entries:
        allowed_url = urlsplit(entry)
        if (
            (allowed_url.scheme, allowed_url.hostname) == (target.scheme, target.hostname)
            and _port(allowed_url) == _port(target)
            and (
                allowed_url.path in ("", "/")
                or target.path == allowed_url.path
                or (allowed_url.path.endswith("/") and target.path.startswith(allowed_url.path))
            )
        ):
            return True
    return False


def _port(url: SplitResult) -> int | None:
    try:
        return url.port or (443 if url.scheme == "https" else 80)
    except ValueError:  # not a port number
        return None


def check_fetches(
    sparql: str,
    *,
    service_endpoints: Sequence[str],
    load_sources: Sequence[str] | None = None,
    base_iri: str | None = None,
) -> None:
    """Raise FetchRefused for the first SERVICE or LOAD target that is not on its allow-list.

    `load_sources` None: the text is a query, where LOAD cannot appear, so only SERVICE is looked at.
    """
    for fetch in fetches(sparql, base_iri):
        if fetch.keyword == "SERVICE":
            if fetch.iri is None:
                raise FetchRefused(
                    f"SERVICE {fetch.written or '(nothing)'} is refused: name the endpoint with its full IRI (or a "
                    "prefix the query declares), one on this service's allow-list "
                    f"({', '.join(service_endpoints) or 'none'})."
                )
            if not allowed(fetch.iri, service_endpoints):
                raise FetchRefused(
                    f"SERVICE <{fetch.iri}> is refused: this service calls only the SPARQL endpoints on its "
                    f"allow-list ({', '.join(service_endpoints) or 'none'}). The operator can allow another one "
                    "with 'samverkan serve --allow-service URL'."
                )
        elif load_sources is not None and (fetch.iri is None or not allowed(fetch.iri, load_sources)):
            target = f"<{fetch.iri}>" if fetch.iri else fetch.written
            where = ", ".join(load_sources) if load_sources else "none are allowed on this service"
            raise FetchRefused(
                f"LOAD {target} is refused: this service loads only from the URLs on its allow-list ({where}). "
                "The operator can allow a source with 'samverkan serve --allow-load URL'; or load the file "
                "with 'samverkan import FILE --graph IRI', or send its triples to /store or in INSERT DATA."
            )


def check_service_calls(sparql: str, allowed_endpoints: Sequence[str], base_iri: str | None = None) -> None:
    """check_fetches for a query."""
    check_fetches(sparql, service_endpoints=allowed_endpoints, base_iri=base_iri)
