"""All settings of the service in one place, with the defaults a researcher's laptop needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_cache_path, user_data_path

from service.shipped_files import CHECKOUT, INSTALLED, NODE_MODULES, ROOT

WIKIDATA_SPARQL = "https://query.wikidata.org/sparql"
# Studies of up to this many triples are reasoned over with HermiT, larger ones with rules (docs/reasoning.md).
HERMIT_MAX_TRIPLES = 25_000

# What the service writes: beside the checkout when run from one; for an installed package in the user's own
# folders (platformdirs: ~/.cache/samverkan-kg and ~/.local/share/samverkan-kg on Linux), never in site-packages.
if INSTALLED:
    BUILD_CACHE = user_cache_path("samverkan-kg") / "builds"
    USER_QUERIES = user_data_path("samverkan-kg") / "user-queries"
else:
    BUILD_CACHE = CHECKOUT / ".cache" / "builds"
    USER_QUERIES = CHECKOUT / "user-queries"


@dataclass(frozen=True)
class Config:
    # Where the graph lives: the embedded store (in memory when store_path is None) or a remote
    # SPARQL 1.1 server when query_url is set.
    store_path: str | None = None
    query_url: str | None = None
    update_url: str | None = None
    # The remote server's Graph Store Protocol endpoint: whole graphs are sent there as N-Triples when it is set.
    graph_store_url: str | None = None
    # The folder holding the shipped ontology/ and data/ (service/shipped_files.py), loaded at start when they changed.
    data_root: Path = field(default=ROOT)
    load_shipped_data: bool = True
    # The fictional example studies in data/examples/ (illustrations, loaded beside the real studies).
    load_examples: bool = True
    # Where studies once validated and reasoned over are kept by digest, so a new store loads them at once.
    build_cache: Path | None = field(default=BUILD_CACHE)
    # Where releases (frozen snapshots of the data) and the records of cited results are kept. None: the folder
    # STORE.releases beside an on-disk store, or a temporary folder removed with the in-memory store.
    releases_dir: Path | None = None
    # Limits on what a request may carry.
    max_request_bytes: int = 2 * 1024 * 1024
    max_query_chars: int = 100_000
    # Limits on what a query may cost: seconds it may run, rows (or triples) in one answer.
    query_timeout: float = 10.0
    max_rows: int = 100_000
    # Processes that run queries on the embedded store: a runaway query holds one until its time limit.
    query_workers: int = 4
    # Saved queries: the curated library (.rq files), the folder where researchers' own are saved (NAME.vN.rq,
    # one file per version), and the write token that allows saving (POST /api/queries) and other writes.
    queries_dir: Path = field(default=ROOT / "queries")
    user_queries_dir: Path = field(default=USER_QUERIES)
    update_token: str | None = None
    # The only endpoints a query's SERVICE clause may reach (service/fetch_policy.py); --allow-service adds more.
    allowed_service_endpoints: tuple[str, ...] = (WIKIDATA_SPARQL,)
    # The URLs an update's LOAD may fetch (a URL ending in '/' allows everything under it): none unless the
    # operator adds them with --allow-load, so /update cannot be used to read internal hosts or files.
    allowed_load_sources: tuple[str, ...] = ()
    # Answers kept in memory (per process) while the data is unchanged, in MiB; 0 turns the cache off.
    result_cache_mb: int = 64
    # Studies of up to this many triples are reasoned over with HermiT (complete OWL 2 DL, needs Java); larger
    # ones with rules in Oxigraph, as HermiT's time grows faster than the study (docs/reasoning.md, BENCHMARKS.md).
    hermit_max_triples: int = HERMIT_MAX_TRIPLES
    # node_modules/: where the pages' browser code (YASGUI, Chart.js) and Swagger UI are served from.
    browser_assets: Path = field(default=NODE_MODULES)
