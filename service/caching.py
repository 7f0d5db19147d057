"""Answers kept while the data is unchanged: ETags and an in-process result cache.

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
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cachetools import LRUCache

from service import __version__
from service.executor import Answer, QueryJob

_ENTRY_OVERHEAD = 256  # bytes an entry costs besides its body and key, roughly


class ResultCache:
    """Serialised answers by key, least recently used dropped first when their bytes pass the limit."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: LRUCache[str, Answer] = LRUCache(maxsize=max_bytes, getsizeof=self._size)
        self._lock = threading.Lock()  # cachetools caches are not thread-safe
        self._counts = {"hits": 0, "misses": 0, "not_modified": 0}

    @staticmethod
    def _size(answer: Answer) -> int:
        return len(answer.body) + _ENTRY_OVERHEAD

    def get(self, key: str) -> Answer | None:
        with self._lock:
            answer = self._entries.get(key)
            self._counts["misses" if answer is None else "hits"] += 1
            return answer

    def put(self, key: str, answer: Answer) -> None:
        with self._lock:
            if key not in self._entries and self._size(answer) <= self.max_bytes:
                self._entries[key] = answer

    def count_not_modified(self) -> None:
        with self._lock:
            self._counts["not_modified"] += 1

    def stats(self) -> dict[str, int]:
        """For /health: how often answers came from the cache, and what it holds."""
        with self._lock:
            counts = {f"result_cache_{name}": value for name, value in self._counts.items()}
            return {
                **counts,
                "result_cache_entries": len(self._entries),
                "result_cache_bytes": int(self._entries.currsize),
            }


def etag_for(version: str, job: QueryJob, max_rows: int, extra: Sequence[str] = ()) -> str:
    """The ETag value (unquoted) of an answer: data version, everything the job asks for, and the row cap.

    The time limit is left out: it decides whether an answer comes, not what it says.
    """
    key = repr((__version__, version, replace(job, timeout=None), max_rows, tuple(extra)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class CachedAnswer:
    """A query's answer for one request, and where it came from."""

    answer: Answer | None  # None: the client's copy is current (304 Not Modified)
    etag: str | None  # None: this answer cannot be validated (remote store, SERVICE)
    cache: str  # "hit", "miss", or "off" (not cacheable)
