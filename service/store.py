"""Where the graph lives: the embedded Oxigraph store, or any SPARQL 1.1 server reached over HTTP.

Both implementations answer queries with pyoxigraph result objects, so the HTTP layer serialises
results the same way whichever store is behind it. Both take changes as one SPARQL Update request,
which SPARQL 1.1 servers apply atomically, and whole graphs through a bulk path (`replacing`): the
embedded store builds a new store folder beside the old one and swaps the two, a remote server gets the
graphs as N-Triples into temporary graphs that one update then moves into place (docs/remote-stores.md).
Either way each graph is written in a background thread as soon as it is given, so a study's graph is stored
while the reasoner works on it.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import gc
import itertools
import os
import shutil
import tempfile
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph as ox
import requests

from service.config import Config
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


Write = Callable[[str, Sequence[ox.Triple], "list[bytes] | None", threading.Event], None]
"""How a store writes a graph's triples (or the same as N-Triples pieces, when given) until the event is set."""


class Replacement:
    """The graphs of one replace as the caller makes them: each is written as soon as it is put, in one
    background thread, one graph after another, while the caller goes on making the next (a study's graph is
    stored while the reasoner works on it: pyoxigraph's loader runs without the GIL). Updates wait for the end.
    """

    def __init__(self, graphs: Collection[str], write: Write):
        self.graphs = frozenset(graphs)
        self.updates: list[str] = []
        self._given: set[str] = set()
        self._write: Write | None = write
        self._stop = threading.Event()  # set when the replace is given up: a write stops at its next batch
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="samverkan-replace")
        self._writes: list[Future[None]] = []

    def put(self, graph: str, triples: Sequence[ox.Triple], ntriples: list[bytes] | None = None) -> None:
        """Write the triples as the graph's new content (the sequence must not change until the replace ends).

        `ntriples`: the same triples written as N-Triples already, in pieces that share no blank node (a study's,
        StudyText); the store then writes those, taking each out of the list once written, rather than writing the
        triples out again.
        """
        if graph not in self.graphs or graph in self._given:
            raise ValueError(f"<{graph}> is not a graph this replace may still write")
        self._given.add(graph)
        write = self._write
        assert write is not None, "a replace takes graphs only while it is open"
        self.submit(lambda stop: write(graph, triples, ntriples, stop))

    def submit(self, work: Callable[[threading.Event], None]) -> None:
        """Run `work` after the writes before it, in the writing thread. A write that failed already (a full disk,
        a server that refused it) fails this call, rather than the end of the replace, after all the caller's work."""
        for write in self._writes:
            if write.done() and (error := write.exception()) is not None:
                raise error
        self._writes.append(self._pool.submit(work, self._stop))

    def then(self, sparql_update: str) -> None:
        """Apply this update once every graph is written, in the same atomic step."""
        self.updates.append(sparql_update)

    def __enter__(self) -> Replacement:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        """Wait for the writes (raising the first write's error), or on a failure stop them at their next batch.
        Either way the thread has ended, and let go of the store, when this returns."""
        try:
            if kind is None:
                for write in self._writes:
                    write.result()
        finally:
            self._stop.set()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._write, self._writes = None, []


class Store(Protocol):
    """What the service needs from a store: run queries, list graphs, apply an update atomically."""

    def query(
        self, sparql: str, dataset: Dataset = Dataset(), base_iri: str | None = None, timeout: float | None = None
    ) -> QueryResult: ...

    def named_graphs(self) -> list[str]: ...

    def update(self, sparql_update: str, base_iri: str | None = None) -> None: ...

    def replacing(self, graphs: Collection[str]) -> AbstractContextManager[Replacement]:
        """Replace the graphs with what the block puts in them (a graph not put becomes empty), then apply the
        updates the block gives to `then` (the catalogue's entries): readers see all of it or none of it, and a
        failure, of a write or of the block itself, leaves the store as it was."""
        ...

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


# Deleting a quad in a transaction costs Oxigraph about ten times what writing one through the bulk loader
# does (BENCHMARKS.md): a replace copies the rest of the store unless the graphs it removes are that small.
DELETE_COST = 10


class EmbeddedStore:
    """pyoxigraph in this process, on disk at `path`, or in a throw-away folder in memory when path is None.

    Queries read through a read-only handle, so other processes (the query workers, a `samverkan load`)
    can open the same folder: a write opens the store read-write only for its transaction, then bumps
    a version file that tells every reader to reopen and see it. Whole graphs are replaced by building a
    new store folder (`PATH.samverkan-next`) and swapping it with the old one in one rename.
    """

    VERSION_FILE = "samverkan-version"
    LOCK_FILE = "samverkan-lock"

    def __init__(self, path: str | None = None, create: bool = True) -> None:
        self.temporary = path is None
        self.path = path or tempfile.mkdtemp(prefix="samverkan-store-", dir=memory_folder())
        if self.temporary:
            weakref.finalize(self, shutil.rmtree, self.path, True)
        if not os.path.exists(os.path.join(self.path, "CURRENT")) and os.path.isdir(self._beside("aside")):
            os.rename(self._beside("aside"), self.path)  # a swap without RENAME_EXCHANGE was interrupted midway
        if not os.path.exists(os.path.join(self.path, "CURRENT")):
            if not create:
                raise StoreError(f"there is no store at {self.path}")
            with self._writer():
                pass
        self._reader: tuple[str, ox.Store] | None = None

    def _beside(self, role: str) -> str:
        return f"{self.path.rstrip(os.sep)}.samverkan-{role}"

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

        A read-only handle is a snapshot of the file list: a write that compacts the store (or swaps in a new
        one) may delete files it still points to, and reading them then fails until the store is opened again.
        """
        self._reader = None

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """One writer at a time, for as long as a whole replace takes (RocksDB's own lock is held only while its
        store is open, and a replace must close the old store before it swaps the folders)."""
        os.makedirs(self.path, exist_ok=True)
        with open(os.path.join(self.path, self.LOCK_FILE), "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                raise self._busy() from error
            yield

    def _busy(self) -> StoreError:
        return StoreError(
            f"the store at {self.path} is being written by another process (a load?); try again when it is done"
        )

    @contextmanager
    def _writer(self) -> Iterator[ox.Store]:
        with self._lock(), self._open_writable(self.path) as store:
            yield store
        gc.collect()  # whatever still refers to the store (a query result) lets go of its lock for the next writer

    @contextmanager
    def _open_writable(self, path: str) -> Iterator[ox.Store]:
        try:
            store = ox.Store(path)
        except OSError as error:
            raise (
                self._busy()
                if "lock" in str(error).lower()
                else StoreError(f"the store at {path} cannot be opened for writing: {error}")
            ) from error
        try:
            yield store
            store.flush()
        finally:
            del store  # releases RocksDB's lock and files once the caller lets go of it too

    def backup(self, target: str) -> str:
        """Copy the store into the new folder `target` (hard links where it can, so it is cheap) and return the
        version of the data copied. It runs under the write lock, so no write lands halfway through the copy."""
        with self._writer() as store:
            version = self.version()
            try:
                store.backup(target)
            except OSError as error:
                raise StoreError(f"the store at {self.path} could not be copied to {target}: {error}") from error
        return version

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
            _apply(store, sparql_update, base_iri)
        _new_version(self.path)

    @contextmanager
    def replacing(self, graphs: Collection[str]) -> Iterator[Replacement]:
        """Write the graphs through the bulk loader into a new store folder, then swap it in with one rename.

        The new folder starts as a checkpoint of the store (hard links, no copying) when the graphs it replaces
        are small beside the rest, since Oxigraph deletes quads slowly; otherwise it gets the rest of the store
        through the bulk loader. Until the swap nothing in the store's folder changes, so a failure or a crash
        leaves the old store whole (and the next replace removes the unfinished folder).
        """
        building = self._beside("next")
        with self._lock():
            shutil.rmtree(building, ignore_errors=True)
            try:
                with self._building(building, graphs) as replacement:  # both stores are closed when it ends
                    yield replacement
                _new_version(building)
            except BaseException as error:
                # The traceback holds the new store open; RocksDB writes files as it closes, so close it first.
                traceback.clear_frames(error.__traceback__)
                shutil.rmtree(building, ignore_errors=True)
                raise
            _exchange(building, self.path)
            # The old store: a query still reading it keeps the files it has open (Linux frees them when it
            # closes them), and one that opens another file of it meets the new store and is run again.
            shutil.rmtree(building, ignore_errors=True)

    @staticmethod
    @contextmanager
    def _writing(building: str) -> Iterator[None]:
        """The bulk loader's errors (a full disk) as a StoreError, which says the load changed nothing."""
        try:
            yield
        except OSError as error:
            raise StoreError(f"the new store at {building} could not be written: {error}") from error

    @contextmanager
    def _building(self, building: str, graphs: Collection[str]) -> Iterator[Replacement]:
        """The store as it will be after the replace, in the folder `building` (the stores close at the end)."""
        replaced = {ox.NamedNode(g) for g in graphs}
        with self._open_writable(self.path) as live:
            removed = sum(1 for g in replaced for _ in live.quads_for_pattern(None, None, None, g))
            checkpoint = removed * DELETE_COST < len(live) - removed
            if checkpoint:
                live.backup(building)
            with self._open_writable(building) as new:
                if checkpoint:
                    for graph in replaced:
                        new.remove_graph(graph)

                def write(
                    graph: str, triples: Sequence[ox.Triple], ntriples: list[bytes] | None, stop: threading.Event
                ) -> None:
                    with self._writing(building):
                        _bulk_write(new, ox.NamedNode(graph), triples, ntriples, stop)

                def copy_rest(stop: threading.Event) -> None:
                    with self._writing(building):
                        _bulk_extend(new, _quads_besides(live, replaced), stop)

                with Replacement(graphs, write) as replacement:
                    if not checkpoint:
                        replacement.submit(copy_rest)
                    yield replacement
                _apply(new, " ;\n".join(replacement.updates))


# Quads per call of the bulk loader. One call buffers millions of quads before it writes them (2 GB more for the
# 2.7 million of a study of 100,000 rows); calls of this size keep that to about 200 MB and take as long.
BULK_BATCH = 200_000


def _bulk_extend(store: ox.Store, quads: Iterator[ox.Quad], stop: threading.Event) -> None:
    while not stop.is_set() and (batch := list(itertools.islice(quads, BULK_BATCH))):
        store.bulk_extend(batch)


def _bulk_write(
    store: ox.Store,
    graph: ox.NamedNode,
    triples: Sequence[ox.Triple],
    ntriples: list[bytes] | None,
    stop: threading.Event,
) -> None:
    """A graph's triples through the bulk loader, as N-Triples text: the loader parses it without the `Quad` object
    per triple that bulk_extend needs (pyo3 tries each term type in turn): 13 to 20 % less time for a large
    study (BENCHMARKS.md). Pieces written already (`ntriples`, Replacement.put) are taken out of the list as they are
    written, so that each is freed then.

    The text's parser gives blank nodes new names, different in each call, so from the first chunk that has one
    (`_:` also matches inside a literal, which only costs speed) the rest of the graph goes as quads.
    """
    if ntriples is not None:
        for piece in _taken(ntriples):
            if stop.is_set():
                return
            store.bulk_load(piece, format=ox.RdfFormat.N_TRIPLES, to_graph=graph, lenient=True)
        return
    for start in range(0, len(triples), BULK_BATCH):
        if stop.is_set():
            return
        piece = _ntriples(triples[start : start + BULK_BATCH])
        if b"_:" in piece:
            _bulk_extend(store, (ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples[start:]), stop)
            return
        store.bulk_load(piece, format=ox.RdfFormat.N_TRIPLES, to_graph=graph, lenient=True)


def _quads_besides(store: ox.Store, graphs: set[ox.NamedNode]) -> Iterator[ox.Quad]:
    """Every quad of the store outside the given graphs."""
    for graph in [ox.DefaultGraph(), *store.named_graphs()]:
        if graph not in graphs:
            yield from store.quads_for_pattern(None, None, None, graph)


def _apply(store: ox.Store, sparql_update: str, base_iri: str | None = None) -> None:
    try:
        store.update(sparql_update, base_iri=base_iri)
    except SyntaxError as error:
        raise QuerySyntaxError(str(error)) from error
    except OSError as error:
        raise StoreError(str(error)) from error
    except RuntimeError as error:  # pyoxigraph's evaluation errors
        raise UpdateError(str(error)) from error


def _new_version(folder: str) -> None:
    """Tell every reader of the store in `folder` to reopen it (EmbeddedStore.version)."""
    version_file = os.path.join(folder, EmbeddedStore.VERSION_FILE)
    with open(version_file + ".tmp", "w") as handle:
        handle.write(uuid.uuid4().hex)
    os.replace(version_file + ".tmp", version_file)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(new: str, path: str) -> None:
    """Swap two folders so that `path` is at every moment either the old store or the new one.

    Linux swaps them in one step (renameat2 with RENAME_EXCHANGE). Elsewhere it takes three renames, and for
    the moment between the first two there is no store at `path`: readers retry their open, and a crash there
    is undone when the store is next opened (the old one is found at PATH.samverkan-aside).
    """
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(path), _RENAME_EXCHANGE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL):  # EINVAL: this file system cannot swap
            raise StoreError(f"the new store could not be swapped in at {path}: {os.strerror(code)}")
    aside = f"{path.rstrip(os.sep)}.samverkan-aside"
    os.rename(path, aside)
    os.rename(new, path)
    os.rename(aside, new)


class SnapshotStore(EmbeddedStore):
    """A frozen copy of the store (a release's snapshot, made by `EmbeddedStore.backup`): read, never written.

    Opening one never creates a store, so a snapshot deleted meanwhile is an error, not a new empty store.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path, create=False)

    def version(self) -> str:
        """Fixed: a snapshot's data never changes (and each snapshot's differs from the others')."""
        return f"snapshot:{self.path}"

    def update(self, sparql_update: str, base_iri: str | None = None) -> None:
        raise StoreError(f"the snapshot at {self.path} is frozen: it cannot be written")


class RemoteStore:
    """A SPARQL 1.1 server (Oxigraph server, Fuseki, Virtuoso) reached over the SPARQL 1.1 Protocol.

    The union default graph is asked for explicitly, by naming every named graph as
    `default-graph-uri` (and `named-graph-uri`), so the server needs no special configuration and a
    query's own FROM still wins. The list of graphs is cached for a moment and renewed after loads.
    Whole graphs go to the server as N-Triples through its Graph Store Protocol endpoint when one is given
    (else as SPARQL updates of STAGING_BATCH triples each, or one for a graph with blank nodes) into temporary
    graphs, which one update moves into place; the temporary graphs are left out of the union, and dropped
    again when a load fails.
    """

    STAGING = "urn:samverkan:staging:"
    STAGING_BATCH = 50_000

    # One media type per query form: Virtuoso answers a CONSTRUCT with JSON bindings of ?s ?p ?o when
    # the Accept header lists the results format at all.
    _ACCEPT_SOLUTIONS = "application/sparql-results+json"
    _ACCEPT_TRIPLES = "application/n-triples"
    # Graphs Virtuoso makes for itself (its RDF views, LDP and URIQA settings): not data, kept out of the union.
    _SERVER_GRAPHS = frozenset(
        ("http://www.openlinksw.com/schemas/virtrdf#", "http://www.w3.org/ns/ldp#", "http://localuriqaserver/sparql")
    )
    _GRAPHS_TTL = 2.0  # seconds a loaded elsewhere graph may stay unseen

    def __init__(
        self,
        query_url: str,
        update_url: str | None = None,
        timeout: float = 60.0,
        graph_store_url: str | None = None,
    ) -> None:
        self.query_url = query_url
        self.update_url = update_url
        self.graph_store_url = graph_store_url
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
            graphs = tuple(
                sorted(
                    g
                    for g in names
                    if g is not None and g not in self._SERVER_GRAPHS and not g.startswith(self.STAGING)
                )
            )
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

    @contextmanager
    def replacing(self, graphs: Collection[str]) -> Iterator[Replacement]:
        """Stage each graph's triples in a temporary graph, then MOVE them all into place with the updates in one
        update, which the server applies atomically; the staged graphs are dropped if anything fails."""
        if not self.update_url:
            raise StoreError("this store has no update endpoint configured (--update-url), so it cannot be loaded")
        staged: dict[str, str] = {}

        def stage(
            graph: str, triples: Sequence[ox.Triple], ntriples: list[bytes] | None, stop: threading.Event
        ) -> None:
            if triples:
                staged[graph] = f"{self.STAGING}{uuid.uuid4().hex}"  # before it is written: a part may land
                self._stage(staged[graph], triples, ntriples, stop)

        try:
            with Replacement(graphs, stage) as replacement:
                yield replacement
            # MOVE SILENT from a graph that does not exist would leave the target as it was: empty ones are dropped.
            moves = [f"MOVE <{staged[g]}> TO <{g}>" if g in staged else f"DROP SILENT GRAPH <{g}>" for g in graphs]
            self.update(" ;\n".join([*moves, *replacement.updates]))
        except BaseException:
            if staged:
                with suppress(StoreError, QuerySyntaxError):
                    self.update(" ;\n".join(f"DROP SILENT GRAPH <{temporary}>" for temporary in staged.values()))
            raise

    def _stage(
        self, graph: str, triples: Sequence[ox.Triple], ntriples: list[bytes] | None, stop: threading.Event
    ) -> None:
        """Write the triples into a staging graph: through the Graph Store Protocol in one request (pieces written
        already are sent as they are, each freed once sent), else by SPARQL updates."""
        if not self.graph_store_url:
            # A blank node is a different node in each request, so a graph that has any goes in one request.
            blank = any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples)
            size = max(len(triples), 1) if blank else self.STAGING_BATCH
            for start in range(0, len(triples), size):
                if stop.is_set():
                    return
                batch = _ntriples(triples[start : start + size]).decode("utf-8")
                self.update(f"INSERT DATA {{ GRAPH <{graph}> {{\n{batch}}} }}")
            return
        try:
            response = self._http.put(
                self.graph_store_url,
                params={"graph": graph},
                data=_ntriples(triples) if ntriples is None else _Body(ntriples),
                headers={"Content-Type": "application/n-triples"},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise StoreError(
                f"the remote Graph Store endpoint {self.graph_store_url} did not answer: {error}"
            ) from error
        if response.status_code >= 300:
            raise StoreError(
                f"the remote Graph Store endpoint {self.graph_store_url} answered {response.status_code}: "
                f"{response.text[:500]}"
            )


class _Body:
    """A request body sent piece by piece, each piece freed once sent, with its length known beforehand: the
    request has a Content-Length, as not every server takes a chunked one."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces
        self._length = sum(map(len, pieces))

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        return _taken(self._pieces)


def _taken(pieces: list[bytes]) -> Iterator[bytes]:
    """The pieces, each taken out of the list as it is given."""
    while pieces:
        yield pieces.pop(0)


def _ntriples(triples: Sequence[ox.Triple]) -> bytes:
    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    assert data is not None  # serialize returns the bytes when given no output
    return data


def open_store(config: Config) -> Store:
    """The store the settings name: a remote SPARQL server when a query URL is given, else the embedded one."""
    if config.query_url:
        return RemoteStore(config.query_url, config.update_url, graph_store_url=config.graph_store_url)
    return EmbeddedStore(config.store_path)
