"""All settings of the service in one place, with the defaults a researcher's laptop needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Config:
    # Where the graph lives: the embedded store (in memory when store_path is None) or a remote
    # SPARQL 1.1 server when query_url is set.
    store_path: str | None = None
    query_url: str | None = None
    update_url: str | None = None
    # The shipped ontology/ and data/ folders, loaded at start when they changed.
    data_root: Path = field(default=PROJECT_ROOT)
    load_shipped_data: bool = True
    # Limits on what a request may carry.
    max_request_bytes: int = 2 * 1024 * 1024
    max_query_chars: int = 100_000
    # Limits on what a query may cost: seconds it may run, rows (or triples) in one answer.
    query_timeout: float = 10.0
    max_rows: int = 100_000
    # Processes that run queries on the embedded store: a runaway query holds one until its time limit.
    query_workers: int = 4
