"""Running one query: under a time limit and a row cap, answered in the negotiated format.

Every query the service runs (the protocol endpoint, saved queries, pages, lookups) goes through
`Executor.run`, so the limits and the SERVICE allow-list hold everywhere and results are serialised in one
place (`render`). The answer path has three steps, each named once: `Executor.run` gives an `Answer`;
`Services.answer` (service/runtime.py) adds the ETag and the result cache; `respond` (service/http/answers.py)
makes it an HTTP response.

Oxigraph cannot cancel a query, so on the embedded store each query runs in a worker process that opens
the store read-only; a worker past its deadline is killed and replaced, and the request is answered with
a clear error before a byte of the result is sent. A remote store is asked with an HTTP timeout.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Protocol

import orjson
import pyoxigraph as ox

from service.fetch_policy import check_service_calls
from service.formats import candidates_for, negotiate, serialize
from service.store import (
    Dataset,
    EmbeddedStore,
    GraphResult,
    QueryResult,
    QueryTimeoutError,
    SnapshotStore,
    Store,
    StoreError,
)


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # seconds a query may run
    max_rows: int = 100_000  # solutions (SELECT) or triples (CONSTRUCT/DESCRIBE) in one answer
    service_endpoints: tuple[str, ...] = ()  # what SERVICE may call (service/fetch_policy.py); others are refused


@dataclass(frozen=True)
class QueryJob:
    """One query to run, with what the client asked for."""

    sparql: str
    dataset: Dataset = field(default_factory=Dataset)
    base_iri: str | None = None
    format: str | None = None  # an explicit `format` parameter (wins over accept)
    accept: str = ""  # the Accept header as sent
    timeout: float | None = None  # lower the service's time limit for this query
    max_rows: int | None = None  # lower the service's row cap for this query
    offset: int = 0  # rows to skip before the answer starts (paging)
    snapshot: str | None = None  # run on this frozen copy of the store (a release's snapshot) instead of the store

    def time_limit(self, limits: Limits) -> float:
        return min(self.timeout or limits.timeout, limits.timeout)


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str
    kind: str  # "bindings", "boolean" or "graph"
    rows: int  # solutions or triples in the body
    truncated: bool  # the row cap cut the answer short


def capped(result: QueryResult, max_rows: int, offset: int = 0) -> tuple[QueryResult, int, bool]:
    """The result from row `offset`, cut to `max_rows`, with the number of rows kept and whether any were cut.

    SELECT solutions are re-read through TSV (SPARQL's own term syntax), so pyoxigraph's writers
    serialise the kept rows in every format.
    """
    if isinstance(result, GraphResult):
        triples = list(itertools.islice(result.triples, offset, offset + max_rows + 1))
        return GraphResult(triples[:max_rows]), min(len(triples), max_rows), len(triples) > max_rows
    if isinstance(result, ox.QueryBoolean):
        return result, 1, False
    variables = [v.value for v in result.variables]
    lines = ["\t".join("?" + v for v in variables)]
    for solution in itertools.islice(result, offset, offset + max_rows + 1):
        lines.append("\t".join("" if solution[v] is None else str(solution[v]) for v in variables))
    kept = min(len(lines) - 1, max_rows)
    tsv = "\n".join(lines[: kept + 1]) + "\n"
    return ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV), kept, len(lines) - 1 > max_rows


def kind_of(result: QueryResult) -> str:
    if isinstance(result, GraphResult):
        return "graph"
    return "boolean" if isinstance(result, ox.QueryBoolean) else "bindings"


def render(result: QueryResult, job: QueryJob, limits: Limits) -> Answer:
    """Negotiate the format, apply the row cap and serialise (NotAcceptable when no format fits)."""
    fmt = negotiate(candidates_for(result), job.format, job.accept)
    max_rows = min(job.max_rows or limits.max_rows, limits.max_rows)
    kept, rows, truncated = capped(result, max_rows, job.offset)
    return Answer(serialize(kept, fmt), fmt.media_type, kind_of(result), rows, truncated)


def timeout_message(seconds: float) -> str:
    return (
        f"The query was stopped after {seconds:g} s, the time limit. Narrow it down (more specific patterns, "
        "a LIMIT, fewer OPTIONALs or property paths), or run it on your own copy of the data "
        "(samverkan export) without a limit."
    )


class Executor(Protocol):
    limits: Limits

    def run(self, job: QueryJob) -> Answer: ...

    def status(self) -> dict[str, int]: ...


Binding = dict[str, dict[str, str]]  # one row of SPARQL 1.1 JSON results: variable -> term


def select(run: Callable[[QueryJob], Answer], sparql: str, snapshot: str | None = None) -> list[Binding]:
    """Every row of a SELECT the service runs for itself (lookups, pages), as SPARQL JSON bindings.

    `run` answers a job under the service's limits (an Executor's run, or Services.answer's cached one),
    page by page when the service's row cap is below the answer's size, so a page or a parameter's list of
    values is never silently cut short. `snapshot`: run on a release's snapshot instead of the store.
    """
    found: list[Binding] = []
    while True:
        answer = run(QueryJob(sparql, format="json", offset=len(found), snapshot=snapshot))
        found += orjson.loads(answer.body)["results"]["bindings"]
        if not answer.truncated or not answer.rows:
            return found


class InlineExecutor:
    """Runs queries in the request's thread: for a remote store, which is stopped by an HTTP timeout."""

    def __init__(self, store: Store, limits: Limits) -> None:
        self.store = store
        self.limits = limits

    def run(self, job: QueryJob) -> Answer:
        check_service_calls(job.sparql, self.limits.service_endpoints, job.base_iri)
        seconds = job.time_limit(self.limits)
        store = self.store if job.snapshot is None else open_snapshot(job.snapshot)
        try:
            result = store.query(job.sparql, job.dataset, base_iri=job.base_iri, timeout=seconds)
        except QueryTimeoutError as error:
            raise QueryTimeoutError(f"{timeout_message(seconds)} ({error})") from error
        return render(result, job, self.limits)

    def status(self) -> dict[str, int]:
        return {}


@functools.lru_cache(maxsize=8)
def open_snapshot(path: str) -> SnapshotStore:
    """A release's snapshot, kept open for the next query on it (a few at a time: each holds file handles)."""
    return SnapshotStore(path)


def _serve_queries(connection: Connection, store_path: str, limits: Limits) -> None:
    """A worker process: answer jobs from the pipe with the store opened read-only, until the pipe closes."""
    store = EmbeddedStore(store_path)
    store.named_graphs()  # opens the store now, not on the first query
    while True:
        try:
            job: QueryJob = connection.recv()
        except (EOFError, OSError):
            return
        try:
            target = store if job.snapshot is None else open_snapshot(job.snapshot)
            connection.send(("answer", _answer_reopening(target, job, limits)))
        except Exception as error:  # sent back to be raised in the request that asked
            connection.send(("error", error))


def _answer_reopening(store: EmbeddedStore, job: QueryJob, limits: Limits) -> Answer:
    """Run a job; if a concurrent write removed files this read-only snapshot still used, reopen and run again."""
    for attempt in range(2):
        try:
            return render(store.query(job.sparql, job.dataset, base_iri=job.base_iri), job, limits)
        except (OSError, RuntimeError) as error:
            if not _stale_snapshot(error):
                raise
            if attempt == 1:
                raise StoreError(f"the store changed while this query read it; please try again ({error})") from error
            store.reopen()
    raise AssertionError("unreachable")


def _stale_snapshot(error: Exception) -> bool:
    text = str(error)
    return "Corruption" in text or "No such file or directory" in text


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    connection: Connection

    def stop(self) -> None:
        self.connection.close()
        self.process.kill()
        self.process.join(5)


class WorkerPoolExecutor:
    """Runs each query in one of `size` worker processes; a worker past its deadline is killed and replaced."""

    def __init__(self, store_path: str, limits: Limits, size: int) -> None:
        self.store_path = store_path
        self.limits = limits
        self._context = multiprocessing.get_context("spawn")  # fork is unsafe with threads and RocksDB
        # Last in, first out: the most recently used worker has the warmest caches.
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(size):
            self._idle.put(self._start_worker())

    def _start_worker(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_serve_queries, args=(theirs, self.store_path, self.limits), daemon=True, name="samverkan-query"
        )
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        with self._lock:
            self._workers.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker and start its successor in the background, so the request returns at once."""
        with self._lock:
            self._workers.discard(worker)
        worker.stop()

        def start() -> None:
            if not self._closed:
                self._idle.put(self._start_worker())

        threading.Thread(target=start, daemon=True).start()

    def run(self, job: QueryJob) -> Answer:
        check_service_calls(job.sparql, self.limits.service_endpoints, job.base_iri)
        seconds = job.time_limit(self.limits)
        deadline = time.monotonic() + seconds
        try:
            worker = self._idle.get(timeout=seconds)
        except queue.Empty:
            raise StoreError(
                f"The service is busy: no query worker became free within {seconds:g} s. Try again shortly."
            ) from None
        try:
            worker.connection.send(job)
            if not worker.connection.poll(max(0.0, deadline - time.monotonic())):
                self._replace(worker)
                raise QueryTimeoutError(timeout_message(seconds))
            status, payload = worker.connection.recv()
        except (EOFError, OSError, BrokenPipeError) as error:
            self._replace(worker)
            raise StoreError(f"the query worker stopped unexpectedly ({error}); the query was not answered") from error
        self._idle.put(worker)
        if status == "error":
            raise payload
        assert isinstance(payload, Answer)
        return payload

    def status(self) -> dict[str, int]:
        """How many worker processes are alive, and how many of them wait for a query."""
        with self._lock:
            alive = sum(worker.process.is_alive() for worker in self._workers)
        return {"query_workers": alive, "idle_query_workers": self._idle.qsize()}

    def close(self) -> None:
        """Stop the worker processes now, for an owner that outlives this executor (a test session making several
        apps, a release check); a service's own workers end with its process."""
        self._closed = True
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.stop()
