"""Where the graph lives: the embedded Oxigraph store, or any SPARQL 1.1 server reached over HTTP.

Both implementations answer queries with pyoxigraph result objects, so the HTTP layer serialises
results the same way whichever store is behind it, and both take changes as one SPARQL Update
request, which SPARQL 1.1 servers apply atomically.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph as ox
import requests

from service.sparql_lexer import has_keyword, tokens


@dataclass(frozen=True)
class GraphResult:
    """The triples of a CONSTRUCT or DESCRIBE answer, read once (lazily, for the embedded store)."""

    triples: Iterable[ox.Triple]

    def __iter__(self) -> Iterator[ox.Triple]:
        return iter(self.triples)


QueryResult = ox.QuerySolutions | ox.QueryBoolean | GraphResult


@dataclass(frozen=True)
class Dataset:
    """The RDF dataset a request asks for (SPARQL 1.1 Protocol `default-graph-uri`/`named-graph-uri`).

    Both empty means: use the query's own FROM/FROM NAMED, or else the service default, where the
    default graph is the union of all named graphs (or, with union_default_graph False, the store's own
    default graph, which the Graph Store Protocol's `?default` addresses).
    """

    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    union_default_graph: bool = True

    @property
    def given(self) -> bool:
        return bool(self.default_graphs or self.named_graphs)


class QuerySyntaxError(ValueError):
    """The query text is not valid SPARQL 1.1; the message is the parser's."""


class UpdateError(ValueError):
    """A valid update the store could not apply (CREATE of a graph that exists, DROP of one that does not);
    nothing of it was applied."""


class StoreError(RuntimeError):
    """The store could not answer (remote server down, disk error)."""


class QueryTimeoutError(StoreError):
    """The query ran past its time limit and was stopped (or abandoned, for a remote store)."""


class Store(Protocol):
    """What the service needs from a store: run queries, list graphs, apply an update atomically."""

    def query(
        self, sparql: str, dataset: Dataset = Dataset(), base_iri: str | None = None, timeout: float | None = None
    ) -> QueryResult: ...

    def named_graphs(self) -> list[str]: ...

    def update(self, sparql_update: str, base_iri: str | None = None) -> None: ...

    def version(self) -> str | None:
        """A value that changes whenever the data changes, or None when the store cannot tell."""
        ...

    def describe_location(self) -> str: ...


def declares_dataset(sparql: str) -> bool:
    """Whether the query has its own FROM or FROM NAMED clause.

    A lexical check: enough because FROM may only appear in a query's dataset clause, and it keeps
    the hot path free of a second SPARQL parser.
    """
    return has_keyword(sparql, "FROM")


def query_form(sparql: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first keyword after the PREFIX and BASE declarations.

    None when it is anything else, e.g. an update (INSERT, LOAD, …), which some servers (Virtuoso)
    would run if it came to their query endpoint.
    """
    items = tokens(sparql)
    i = 0
    while i < len(items) and items[i].is_word("PREFIX", "BASE"):
        i += 3 if items[i].is_word("PREFIX") else 2
    forms = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
    return items[i].text.upper() if i < len(items) and items[i].is_word(*forms) else None


def asks_for_triples(sparql: str) -> bool:
    return query_form(sparql) in ("CONSTRUCT", "DESCRIBE")


def memory_folder() -> str | None:
    """Where a throw-away store goes: RAM-backed /dev/shm when there is one, else the temp folder."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


class EmbeddedStore:
    """pyoxigraph in this process, on disk at `path`, or in a throw-away folder in memory when path is None.

    Queries read through a read-only handle, so other processes (the query workers, a `samverkan load`)
    can open the same folder: a write opens the store read-write only for its transaction, then bumps
    a version file that tells every reader to reopen and see it.
    """

    VERSION_FILE = "samverkan-version"

    def __init__(self, path: str | None = None) -> None:
        self.temporary = path is None
        self.path = path or tempfile.mkdtemp(prefix="samverkan-store-", dir=memory_folder())
        if self.temporary:
            weakref.finalize(self, shutil.rmtree, self.path, True)
        if not os.path.exists(os.path.join(self.path, "CURRENT")):
            with self._writer():
                pass
        self._reader: tuple[str, ox.Store] | None = None

    def describe_location(self) -> str:
        where = "a temporary in-memory folder" if self.temporary else self.path
        return f"embedded Oxigraph store in {where}"

    def version(self) -> str:
        """Changes whenever a write lands, in this process or another."""
        try:  # os.open, not open(): read on every request and every query, so without a text wrapper
            handle = os.open(os.path.join(self.path, self.VERSION_FILE), os.O_RDONLY)
        except FileNotFoundError:
            return ""
        try:
            return os.read(handle, 64).decode("ascii")
        finally:
            os.close(handle)

    def _read(self) -> ox.Store:
        version = self.version()
        if self._reader is None or self._reader[0] != version:
            for attempt in range(3):  # a writer may be replacing the files the open reads
                try:
                    self._reader = (version, ox.Store.read_only(self.path))
                    break
                except OSError as error:
                    if attempt == 2:
                        raise StoreError(f"the store at {self.path} cannot be opened: {error}") from error
                    time.sleep(0.05)
        assert self._reader is not None
        return self._reader[1]

    def reopen(self) -> None:
        """Forget the read-only handle, so the next read sees the store's files as they are now.

        A read-only handle is a snapshot of the file list: a write that compacts the store may delete files
        it still points to, and reading them then fails until the store is opened again.
        """
        self._reader = None

    @contextmanager
    def _writer(self) -> Iterator[ox.Store]:
        try:
            store = ox.Store(self.path)
        except OSError as error:
            raise StoreError(
                f"the store at {self.path} is being written by another process (a load?); try again when it is done"
                if "lock" in str(error).lower()
                else f"the store at {self.path} cannot be opened for writing: {error}"
            ) from error
        yield store
        store.flush()
        del store  # releases the lock for the next writer
        gc.collect()

    def query(
        self, sparql: str, dataset: Dataset = Dataset(), base_iri: str | None = None, timeout: float | None = None
    ) -> QueryResult:
        """Run a query (the timeout is not enforced here: an embedded query is stopped by its worker's end)."""
        store = self._read()
        try:
            if dataset.given:
                result = store.query(
                    sparql,
                    base_iri=base_iri,
                    default_graph=[ox.NamedNode(g) for g in dataset.default_graphs],
                    named_graphs=[ox.NamedNode(g) for g in dataset.named_graphs],
                )
            else:
                union = dataset.union_default_graph and not declares_dataset(sparql)
                result = store.query(sparql, base_iri=base_iri, use_default_graph_as_union=union)
        except SyntaxError as error:
            raise QuerySyntaxError(str(error)) from error
        except OSError as error:
            raise StoreError(str(error)) from error
        if isinstance(result, ox.QueryTriples):
            return GraphResult(result)
        return result

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self._read().named_graphs() if isinstance(g, ox.NamedNode))

    def update(self, sparql_update: str, base_iri: str | None = None) -> None:
        """Apply one SPARQL Update in one transaction (the loaders, and /update and /store with the token)."""
        with self._writer() as store:
            try:
                store.update(sparql_update, base_iri=base_iri)
            except SyntaxError as error:
                raise QuerySyntaxError(str(error)) from error
            except OSError as error:
                raise StoreError(str(error)) from error
            except RuntimeError as error:  # pyoxigraph's evaluation errors
                raise UpdateError(str(error)) from error
        version_file = os.path.join(self.path, self.VERSION_FILE)
        with open(version_file + ".tmp", "w") as handle:
            handle.write(uuid.uuid4().hex)
        os.replace(version_file + ".tmp", version_file)


class RemoteStore:
    """A SPARQL 1.1 server (Oxigraph server, Fuseki, Virtuoso) reached over the SPARQL 1.1 Protocol.

    The union default graph is asked for explicitly, by naming every named graph as
    `default-graph-uri` (and `named-graph-uri`), so the server needs no special configuration and a
    query's own FROM still wins. The list of graphs is cached for a moment and renewed after loads.
    """

    # One media type per query form: Virtuoso answers a CONSTRUCT with JSON bindings of ?s ?p ?o when
    # the Accept header lists the results format at all.
    _ACCEPT_SOLUTIONS = "application/sparql-results+json"
    _ACCEPT_TRIPLES = "application/n-triples"
    # Graphs Virtuoso makes for itself (its RDF views, LDP and URIQA settings): not data, kept out of the union.
    _SERVER_GRAPHS = frozenset(
        ("http://www.openlinksw.com/schemas/virtrdf#", "http://www.w3.org/ns/ldp#", "http://localuriqaserver/sparql")
    )
    _GRAPHS_TTL = 2.0  # seconds a loaded elsewhere graph may stay unseen

    def __init__(self, query_url: str, update_url: str | None = None, timeout: float = 60.0) -> None:
        self.query_url = query_url
        self.update_url = update_url
        self.timeout = timeout
        self._http = requests.Session()
        self._graphs: tuple[float, tuple[str, ...]] = (-self._GRAPHS_TTL, ())

    def describe_location(self) -> str:
        return f"remote SPARQL endpoint {self.query_url}"

    def query(
        self, sparql: str, dataset: Dataset = Dataset(), base_iri: str | None = None, timeout: float | None = None
    ) -> QueryResult:
        if query_form(sparql) is None:
            raise QuerySyntaxError(
                "not a query: after its PREFIX and BASE lines it must be SELECT, ASK, CONSTRUCT or DESCRIBE"
            )
        if base_iri:  # a BASE of the query's own, written after this one, still wins
            sparql = f"BASE <{base_iri}>\n{sparql}"
        if not dataset.given and dataset.union_default_graph and not declares_dataset(sparql):
            graphs = tuple(self.named_graphs())
            dataset = Dataset(graphs, graphs)
        return self._send(sparql, dataset, timeout)

    def _send(self, sparql: str, dataset: Dataset, timeout: float | None = None) -> QueryResult:
        form = [("query", sparql)]
        form += [("default-graph-uri", g) for g in dataset.default_graphs]
        form += [("named-graph-uri", g) for g in dataset.named_graphs]
        try:
            response = self._http.post(
                self.query_url,
                data=form,
                headers={"Accept": self._ACCEPT_TRIPLES if asks_for_triples(sparql) else self._ACCEPT_SOLUTIONS},
                timeout=timeout or self.timeout,
            )
        except requests.Timeout as error:
            raise QueryTimeoutError(
                f"the remote SPARQL endpoint {self.query_url} did not answer within {timeout or self.timeout:g} s"
            ) from error
        except requests.RequestException as error:
            raise StoreError(f"the remote SPARQL endpoint {self.query_url} did not answer: {error}") from error
        if response.status_code == 400:
            raise QuerySyntaxError(response.text.strip() or "the remote endpoint rejected the query")
        if response.status_code != 200:
            raise StoreError(f"the remote SPARQL endpoint answered {response.status_code}: {response.text[:500]}")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type in ("application/n-triples", "text/plain"):
            return GraphResult([q.triple for q in ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES)])
        results_format = ox.QueryResultsFormat.from_media_type(media_type)
        if results_format is None:
            raise StoreError(f"the remote SPARQL endpoint answered in an unexpected format: {media_type}")
        return ox.parse_query_results(response.content, format=results_format)

    def named_graphs(self) -> list[str]:
        fetched, graphs = self._graphs
        if time.monotonic() - fetched >= self._GRAPHS_TTL:
            names = self._graph_names("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }")
            if None in names:  # Virtuoso leaves ?g unbound for an empty GRAPH pattern (and takes seconds on DISTINCT)
                names = self._graph_names("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
            graphs = tuple(sorted(g for g in names if g is not None and g not in self._SERVER_GRAPHS))
            self._graphs = (time.monotonic(), graphs)
        return list(graphs)

    def _graph_names(self, sparql: str) -> set[str | None]:
        result = self._send(sparql, Dataset())
        assert isinstance(result, ox.QuerySolutions)
        return {None if row["g"] is None else row["g"].value for row in result}

    def version(self) -> None:
        """Others may write to a remote server, so there is no version to go by."""
        return None

    def update(self, sparql_update: str, base_iri: str | None = None) -> None:
        if not self.update_url:
            raise StoreError("this store has no update endpoint configured (--update-url), so it cannot be loaded")
        if base_iri:  # on the same line, so the server's error positions keep their line numbers
            sparql_update = f"BASE <{base_iri}> {sparql_update}"
        try:
            response = self._http.post(
                self.update_url,
                data=sparql_update.encode("utf-8"),
                headers={"Content-Type": "application/sparql-update"},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise StoreError(f"the remote update endpoint {self.update_url} did not answer: {error}") from error
        self._graphs = (-self._GRAPHS_TTL, ())
        if response.status_code == 400:
            raise QuerySyntaxError(response.text.strip() or "the remote endpoint rejected the update")
        if response.status_code >= 300:
            raise StoreError(f"the remote update endpoint answered {response.status_code}: {response.text[:500]}")
