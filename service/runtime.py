"""What a running service shares: its settings, store, query executor, result cache and saved queries.

Built once per application from a Config (create_app in service/http/ keeps it on the app); nothing here
knows about HTTP, so the command line, the tests and the web views use the same objects.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from service.caching import CachedAnswer, ResultCache, etag_for
from service.citation import CitationArchive
from service.config import Config
from service.executor import Answer, Binding, Executor, InlineExecutor, Limits, QueryJob, WorkerPoolExecutor, select
from service.fetch_policy import calls_service
from service.ingest.schema import Schema
from service.ingest.shipped import BuildCache, shipped_sources, sync
from service.parameters import LOOKUPS, Candidates, term_rows
from service.releases import ReleaseArchive, ReleasesUnsupported, open_archive
from service.saved_queries import QueryLibrary
from service.store import EmbeddedStore, Store, StoreError, open_store

log = logging.getLogger(__name__)


def open_executor(config: Config, store: Store) -> Executor:
    """Worker processes for the embedded store (so a runaway query can be stopped); inline for a remote one."""
    limits = Limits(
        timeout=config.query_timeout, max_rows=config.max_rows, service_endpoints=config.allowed_service_endpoints
    )
    if isinstance(store, EmbeddedStore):
        return WorkerPoolExecutor(store.path, limits, config.query_workers)
    return InlineExecutor(store, limits)


def load_shipped_data(config: Config, store: Store) -> list[str]:
    """Bring the store up to date with ontology/ and data/ (only what changed); returns the graphs loaded."""
    cache = BuildCache(config.build_cache) if config.build_cache else None
    sources = shipped_sources(
        config.data_root, examples=config.load_examples, hermit_max_triples=config.hermit_max_triples
    )
    return sync(store, sources, cache)


@dataclass
class Services:
    """What every part of a running service shares; one per application, no globals."""

    config: Config
    store: Store
    executor: Executor
    cache: ResultCache
    library: QueryLibrary = field(init=False)
    releases: ReleaseArchive | None = field(default=None, init=False)  # None: the store cannot be frozen (remote)
    citations: CitationArchive | None = field(default=None, init=False)
    _candidates: tuple[str | None, Candidates] | None = field(default=None, init=False)
    _candidates_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.library = QueryLibrary(self.config.queries_dir, self.config.user_queries_dir, self._scheme_names)
        catalogue = self.library.current()  # read now, so every bad file is logged before the first request
        log.info("%d saved queries, %d problems", len(catalogue.queries), len(catalogue.problems))
        try:
            self.releases = open_archive(self.config, self.store)
        except ReleasesUnsupported as error:
            log.info("no releases: %s", error)
        else:
            self.citations = CitationArchive(self.releases.root)

    @cached_property
    def schema(self) -> Schema:
        """The ontology, vocabularies and reference list under data_root, read once when first needed (e.g. for
        our codebook)."""
        return Schema(self.config.data_root)

    def select(self, sparql: str, snapshot: str | None = None) -> list[Binding]:
        """A SELECT the service runs for itself (pages, lookups), every row (service/executor.py `select`),
        through the result cache: a page's queries for labels and graphs repeat from page to page."""
        return select(self._answered, sparql, snapshot)

    def _answered(self, job: QueryJob) -> Answer:
        found = self.answer(job).answer
        assert found is not None  # only a client's If-None-Match gives none
        return found

    def candidates(self) -> Candidates:
        """What parameters may name (municipalities, studies, concepts …), looked up once per data version;
        on a remote store, whose version is unknown, every call looks again."""
        version = self.store.version()
        with self._candidates_lock:
            if version is None or self._candidates is None or self._candidates[0] != version:
                self._candidates = (version, Candidates(lambda sparql: term_rows(self.select(sparql))))
            return self._candidates[1]

    def _scheme_names(self) -> set[str] | None:
        try:
            found = self.candidates().rows((LOOKUPS / "schemes.rq").read_text(encoding="utf-8"))
        except StoreError:  # the scheme names are then checked when a query runs
            return None
        return {row["value"].value.rsplit("/", 1)[-1] for row in found if "value" in row}

    def answer(
        self, job: QueryJob, *, is_current: Callable[[str], bool] = lambda etag: False, extra: Sequence[str] = ()
    ) -> CachedAnswer:
        """Answer a query: nothing if the client's copy (`is_current(etag)`) is current, else from the result
        cache, else run by the executor (and kept if the data did not change meanwhile).

        `extra`: anything else that shapes the answer and is not in the job (e.g. a saved query's version).
        """
        version = self._version(job)
        if version is None or calls_service(job.sparql):
            return CachedAnswer(self.executor.run(job), None, "off")
        etag = etag_for(version, job, self.executor.limits.max_rows, extra)
        if is_current(etag):
            self.cache.count_not_modified()
            return CachedAnswer(None, etag, "hit")
        cached = self.cache.get(etag)
        if cached is not None:
            return CachedAnswer(cached, etag, "hit")
        answer = self.executor.run(job)
        if self._version(job) != version:  # a write landed while it ran: which data it saw is unknown
            return CachedAnswer(answer, None, "miss")
        self.cache.put(etag, answer)
        return CachedAnswer(answer, etag, "miss")

    def _version(self, job: QueryJob) -> str | None:
        """The version of the data a job reads: a release's snapshot never changes (the job names it)."""
        return "frozen" if job.snapshot else self.store.version()


def open_services(config: Config, store: Store | None = None) -> Services:
    """The shared services for `config`: its store (or the one given), loaded with the shipped data if asked."""
    store = store or open_store(config)
    if config.load_shipped_data:
        load_shipped_data(config, store)
    return Services(
        config=config,
        store=store,
        executor=open_executor(config, store),
        cache=ResultCache(config.result_cache_mb * 1024 * 1024),
    )
