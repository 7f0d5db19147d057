"""A query's answer as an HTTP response: ETags and 304 for the request's If-None-Match, the result cache,
and a header saying when the row cap cut the answer short."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, request

from service.caching import CachedAnswer
from service.executor import Answer, QueryJob
from service.http.context import services

CACHE_HEADER = "Samverkan-Cache"


def answer(job: QueryJob, extra: Sequence[str] = ()) -> CachedAnswer:
    """The job's answer for this request (service/runtime.py `Services.answer`); a GET or HEAD whose
    If-None-Match is current gets none (304)."""
    conditional = request.method in ("GET", "HEAD")
    return services().answer(
        job, is_current=lambda etag: conditional and request.if_none_match.contains_weak(etag), extra=extra
    )


def respond(given: CachedAnswer | Answer) -> Response:
    """The answer as a response; a CachedAnswer also carries its ETag and where it came from."""
    cached = given if isinstance(given, CachedAnswer) else None
    result = cached.answer if cached else given
    if result is None:
        response = Response(status=304)
    else:
        assert isinstance(result, Answer)
        response = Response(result.body, content_type=f"{result.media_type}; charset=utf-8")
        if result.truncated:
            response.headers["Samverkan-Truncated"] = f"the answer was cut to its first {result.rows} rows"
    response.vary.add("Accept")
    if cached:
        response.headers[CACHE_HEADER] = cached.cache
        if cached.etag:
            response.set_etag(cached.etag, weak=True)  # weak: the same answer, not always the same bytes
            response.headers["Cache-Control"] = "no-cache"  # browsers revalidate: a load may change it
    return response
