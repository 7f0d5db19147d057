"""Running one query for an HTTP request: under a time limit and a row cap, answered in the negotiated format.

Every endpoint that runs SPARQL (the protocol endpoint, saved queries, pages) goes through `Executor.run`,
so the limits hold everywhere and results are serialised in one place.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pyoxigraph as ox
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from service.formats import Format, candidates_for, choose, serialize
from service.store import Dataset, GraphResult, QueryResult, Store


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # seconds a query may run
    max_rows: int = 100_000  # solutions (SELECT) or triples (CONSTRUCT/DESCRIBE) in one answer


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


@dataclass(frozen=True)
class QueryAnswer:
    body: bytes
    media_type: str
    kind: str  # "bindings", "boolean" or "graph"
    rows: int  # solutions or triples in the body
    truncated: bool  # the row cap cut the answer short


class QueryTimeout(RuntimeError):
    """The query ran past its time limit and was stopped."""


def capped(result: QueryResult, max_rows: int, offset: int = 0) -> tuple[QueryResult, int, bool]:
    """The result from row `offset`, cut to `max_rows`, with the number of rows kept and whether any were cut.

    SELECT solutions are re-read through TSV (SPARQL's own term syntax), so pyoxigraph's writers
    serialise the kept rows in every format.
    """
    if isinstance(result, GraphResult):
        triples = result.triples[offset : offset + max_rows + 1]
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


def answer(result: QueryResult, job: QueryJob, limits: Limits) -> QueryAnswer:
    """Negotiate the format, apply the row cap and serialise (NotAcceptable when no format fits)."""
    fmt: Format = choose(candidates_for(result), job.format, parse_accept_header(job.accept, MIMEAccept))
    max_rows = min(job.max_rows or limits.max_rows, limits.max_rows)
    kept, rows, truncated = capped(result, max_rows, job.offset)
    kind = (
        "graph" if isinstance(result, GraphResult) else "boolean" if isinstance(result, ox.QueryBoolean) else "bindings"
    )
    return QueryAnswer(serialize(kept, fmt), fmt.media_type, kind, rows, truncated)


class Executor:
    """Runs queries against the store in this process (no way yet to stop a runaway query)."""

    def __init__(self, store: Store, limits: Limits) -> None:
        self.store = store
        self.limits = limits

    def run(self, job: QueryJob) -> QueryAnswer:
        result = self.store.query(job.sparql, job.dataset, base_iri=job.base_iri)
        return answer(result, job, self.limits)
