"""Answers kept while the data is unchanged: ETags, 304 Not Modified, and an in-process result cache.

The data changes only when something is written (`samverkan load`/`import`, /update, /store), and every
write to the embedded store gives it a new version (EmbeddedStore.version()). An answer is therefore
fixed by the data version and the request: query text, dataset, base IRI, requested format or Accept
header, paging and row cap. A hash of those is the answer's ETag and its key in the result cache; after
a write the version differs, so older entries are never asked for again and age out of the cache.

A remote store has no version we can see (others write to it), and a query that calls SERVICE depends
on another endpoint's data: those answers get no ETag and are not cached.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from flask import Response, request

from service import __version__
from service.app import services
from service.executor import QueryAnswer, QueryJob
from service.fetch_policy import calls_service

CACHE_HEADER = "Samverkan-Cache"
_ENTRY_OVERHEAD = 256  # bytes an entry costs besides its body and key, roughly


class ResultCache:
    """Serialised answers by key, least recently used dropped first when their bytes pass the limit."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, QueryAnswer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._counts = {"hits": 0, "misses": 0, "not_modified": 0}

    @staticmethod
    def _size(key: str, answer: QueryAnswer) -> int:
        return len(answer.body) + len(key) + _ENTRY_OVERHEAD

    def get(self, key: str) -> QueryAnswer | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is None:
                self._counts["misses"] += 1
                return None
            self._entries.move_to_end(key)
            self._counts["hits"] += 1
            return answer

    def put(self, key: str, answer: QueryAnswer) -> None:
        size = self._size(key, answer)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                old_key, old = self._entries.popitem(last=False)
                self._bytes -= self._size(old_key, old)

    def count_not_modified(self) -> None:
        with self._lock:
            self._counts["not_modified"] += 1

    def stats(self) -> dict[str, int]:
        """For /health: how often answers came from the cache, and what it holds."""
        with self._lock:
            counts = {f"result_cache_{name}": value for name, value in self._counts.items()}
            return {**counts, "result_cache_entries": len(self._entries), "result_cache_bytes": self._bytes}


def etag_for(version: str, job: QueryJob, max_rows: int, extra: Sequence[str] = ()) -> str:
    """The ETag value (unquoted) of an answer: data version, everything the job asks for, and the row cap.

    The time limit is left out: it decides whether an answer comes, not what it says.
    """
    key = repr((__version__, version, replace(job, timeout=None), max_rows, tuple(extra)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Answered:
    """A query's answer for the current request, and where it came from."""

    answer: QueryAnswer | None  # None: the client's copy is current (304 Not Modified)
    etag: str | None  # None: this answer cannot be validated (remote store, SERVICE)
    cache: str  # "hit", "miss", or "off" (not cacheable)

    def response(self) -> Response:
        response = Response(status=304) if self.answer is None else respond(self.answer)
        response.vary.add("Accept")
        response.headers[CACHE_HEADER] = self.cache
        if self.etag:
            response.set_etag(self.etag, weak=True)  # weak: the same answer, not always the same bytes
            response.headers["Cache-Control"] = "no-cache"  # browsers revalidate: a load may change it
        return response


def answer_query(job: QueryJob, extra: Sequence[str] = ()) -> Answered:
    """Answer a query for the current request: 304 if the client's ETag is current, else from the cache,
    else run by the executor (and kept if the data did not change meanwhile).

    `extra`: anything else that shapes the response and is not in the job (e.g. a saved query's version).
    """
    found = services()
    version = found.store.version()
    if version is None or calls_service(job.sparql):
        return Answered(found.executor.run(job), None, "off")
    etag = etag_for(version, job, found.executor.limits.max_rows, extra)
    if request.method in ("GET", "HEAD") and request.if_none_match.contains_weak(etag):
        found.cache.count_not_modified()
        return Answered(None, etag, "hit")
    cached = found.cache.get(etag)
    if cached is not None:
        return Answered(cached, etag, "hit")
    answer = found.executor.run(job)
    if found.store.version() != version:  # a write landed while it ran: which data it saw is unknown
        return Answered(answer, None, "miss")
    found.cache.put(etag, answer)
    return Answered(answer, etag, "miss")


def respond(result: QueryAnswer) -> Response:
    """An answer as an HTTP response, saying when the row cap cut it short."""
    response = Response(result.body, content_type=f"{result.media_type}; charset=utf-8")
    response.vary.add("Accept")
    if result.truncated:
        response.headers["Samverkan-Truncated"] = f"the answer was cut to its first {result.rows} rows"
    return response
