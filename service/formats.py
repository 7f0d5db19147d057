"""Formats and the one content negotiation of the service: query results, RDF graphs and pages.

A client chooses a format with the `Accept` header (q-values honoured) or, for links and for
SPARQLWrapper, with a `format`, `output` or `results` parameter, which wins over `Accept`. The
negotiation is core, not HTTP: a query worker chooses the format once it knows the kind of result.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from service.namespaces import PREFIXES
from service.store import GraphResult, QueryResult


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    aliases: tuple[str, ...]  # other media types and short names that ask for this format
    results: ox.QueryResultsFormat | None = None
    rdf: ox.RdfFormat | None = None

    @property
    def iri(self) -> str:
        """The format's IRI under http://www.w3.org/ns/formats/, as service descriptions name formats."""
        if self.rdf == ox.RdfFormat.JSON_LD:
            return "http://www.w3.org/ns/formats/JSON-LD"  # pyoxigraph 0.5 gives a non-standard IRI
        return (self.results or self.rdf).iri  # type: ignore[union-attr]


# The first entry of each list is the default when the client accepts anything.
RESULT_FORMATS: tuple[Format, ...] = (
    Format("json", "application/sparql-results+json", ("application/json", "srj"), results=ox.QueryResultsFormat.JSON),
    Format(
        "xml",
        "application/sparql-results+xml",
        ("application/xml", "text/xml", "srx"),
        results=ox.QueryResultsFormat.XML,
    ),
    Format("csv", "text/csv", (), results=ox.QueryResultsFormat.CSV),
    Format("tsv", "text/tab-separated-values", (), results=ox.QueryResultsFormat.TSV),
)
BOOLEAN_FORMATS = RESULT_FORMATS[:2]
# A page (resource, ontology, gallery …) in HTML, or its data as plain JSON (its "JSON twin", as in Datasette).
HTML = Format("html", "text/html", ("application/xhtml+xml",))
JSON_TWIN = Format("json", "application/json", ())
PAGE_FORMATS = (HTML, JSON_TWIN)
GRAPH_FORMATS: tuple[Format, ...] = (
    Format("turtle", "text/turtle", ("application/turtle", "application/x-turtle", "ttl"), rdf=ox.RdfFormat.TURTLE),
    Format("ntriples", "application/n-triples", ("text/plain", "nt", "n-triples"), rdf=ox.RdfFormat.N_TRIPLES),
    Format(
        "rdfxml",
        "application/rdf+xml",
        ("application/xml", "text/xml", "xml", "rdf", "rdf+xml", "rdf/xml"),
        rdf=ox.RdfFormat.RDF_XML,
    ),
    Format(
        "jsonld",
        "application/ld+json",
        ("application/json", "application/x-json+ld", "json-ld", "json"),
        rdf=ox.RdfFormat.JSON_LD,
    ),
    Format("n3", "text/n3", ("text/rdf+n3",), rdf=ox.RdfFormat.N3),
)


class NotAcceptable(ValueError):
    """No format the client accepts can express this kind of result."""


def _names(fmt: Format) -> tuple[str, ...]:
    return (fmt.name, fmt.media_type, *fmt.aliases)


def negotiate(candidates: Sequence[Format], requested: str | None, accept: str | MIMEAccept) -> Format:
    """Pick the format: an explicit `format` parameter (or a Content-Type) first, then `Accept`, then the
    first candidate. Where two candidates share a name, the earlier wins (a page's JSON before JSON-LD)."""
    if isinstance(accept, str):
        return _negotiated(tuple(candidates), requested, accept)
    return _negotiate(candidates, requested, accept)


@functools.lru_cache(maxsize=512)
def _negotiated(candidates: tuple[Format, ...], requested: str | None, accept: str) -> Format:
    """`negotiate` for an Accept header as sent: kept, as clients send the same few headers on every request."""
    return _negotiate(candidates, requested, parse_accept_header(accept, MIMEAccept))


def _negotiate(candidates: Sequence[Format], requested: str | None, accept: MIMEAccept) -> Format:
    if requested:
        wanted = requested.strip().lower()
        for fmt in candidates:
            if wanted in _names(fmt):
                return fmt
        raise NotAcceptable(
            f"Unknown or unsuitable format '{requested}' for this result; use one of: "
            + ", ".join(f"{f.name} ({f.media_type})" for f in candidates)
        )
    if not accept:
        return candidates[0]
    offered = [name for fmt in candidates for name in (fmt.media_type, *fmt.aliases) if "/" in name]
    best = accept.best_match(offered)
    if best is None:
        raise NotAcceptable(
            "None of the media types in the Accept header can express this result; it is available as: "
            + ", ".join(f.media_type for f in candidates)
        )
    return next(fmt for fmt in candidates if best in _names(fmt))


def candidates_for(result: QueryResult) -> tuple[Format, ...]:
    if isinstance(result, GraphResult):
        return GRAPH_FORMATS
    if isinstance(result, ox.QueryBoolean):
        return BOOLEAN_FORMATS
    return RESULT_FORMATS


def serialize(result: QueryResult, fmt: Format) -> bytes:
    if isinstance(result, GraphResult):
        assert fmt.rdf is not None
        triples = list(result.triples)
        return ox.serialize(triples, format=fmt.rdf, prefixes=_prefixes_for(triples, fmt.rdf))  # type: ignore[return-value]
    assert fmt.results is not None
    data = result.serialize(format=fmt.results)
    assert data is not None
    return data


def _prefixes_for(triples: Sequence[ox.Triple], rdf_format: ox.RdfFormat) -> dict[str, str] | None:
    """Our usual prefixes, those the triples use, for the formats that abbreviate IRIs."""
    if rdf_format not in (ox.RdfFormat.TURTLE, ox.RdfFormat.N3, ox.RdfFormat.RDF_XML):
        return None
    iris = {
        term.value for t in triples for term in (t.subject, t.predicate, t.object) if isinstance(term, ox.NamedNode)
    }
    iris |= {t.object.datatype.value for t in triples if isinstance(t.object, ox.Literal)}
    return {prefix: ns for prefix, ns in PREFIXES.items() if any(iri.startswith(ns) for iri in iris)}
