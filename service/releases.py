"""Data releases: the embedded store's data frozen at a moment, so a result computed on it can be cited and
computed again later, whatever was loaded since.

A release is a folder in the releases folder (beside the store by default, `Config.releases_dir`):

    2026-05-14-3fa2b9c1/release.json   identifier, note, when, the graphs with their digests, the content hash
    2026-05-14-3fa2b9c1/store/         the snapshot: a copy of the store made by Oxigraph's backup (hard links
                                       to the store's immutable files where they share a file system, so cheap)
    latest.json                        the last release made and the store version it froze
    .deleted/2026-05-14-3fa2b9c1.json  what a deleted release was (so its cite URLs answer 410, not 404)

The identifier is the UTC date and the first 8 hex digits of the content hash: the SHA-256 of every graph's
name, size and digest, where a graph's digest is the SHA-256 of its triples' sorted N-Triples lines (the
catalogue graph included). Freezing data equal to an existing release makes no new one.

Whether the store's data still equals the last release is told by the store's version (it changes with every
write), so asking costs one small file read: a write that leaves the data as it was still counts as a change,
until the next `samverkan release` finds the content unchanged and marks the release current again.

Releases need the embedded store: a remote SPARQL server has no snapshot we can make, nor a version to compare.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from service.catalogue import recorded_digests
from service.config import Config
from service.store import EmbeddedStore, SnapshotStore, Store, StoreError, memory_folder

RELEASE_ID = re.compile(r"\d{4}-\d{2}-\d{2}-[0-9a-f]{8,64}")
SHORT_HASH = 8
RELEASE_FILE = "release.json"
SNAPSHOT = "store"
LATEST_FILE = "latest.json"
DELETED = ".deleted"


class ReleasesUnsupported(StoreError):
    """The store is a remote SPARQL server: releases need the embedded store."""


class UnknownRelease(LookupError):
    """There is not and never was a release of this identifier."""


class ReleaseGone(LookupError):
    """The release was deleted; `deleted` says what it was and when it went."""

    def __init__(self, deleted: DeletedRelease) -> None:
        self.deleted = deleted
        super().__init__(
            f"Release {deleted.id} ({deleted.created:%Y-%m-%d}{', ' + deleted.note if deleted.note else ''}) "
            f"was deleted on {deleted.deleted:%Y-%m-%d}; results computed on it can no longer be recomputed here."
        )


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class ReleasedGraph:
    """One graph of a release: its name (None for the store's default graph), size and digests."""

    graph: str | None
    triples: int
    digest: str  # SHA-256 of the graph's sorted N-Triples lines
    source_digest: str | None  # the digest the catalogue records for the files it was loaded from, if any

    def as_json(self) -> dict[str, Any]:
        return {
            "graph": self.graph,
            "triples": self.triples,
            "digest": self.digest,
            "source_digest": self.source_digest,
        }


@dataclass(frozen=True)
class Release:
    id: str
    created: datetime
    note: str
    content_hash: str
    graphs: tuple[ReleasedGraph, ...]
    store_version: str  # the store's version when it was frozen

    @property
    def triples(self) -> int:
        return sum(graph.triples for graph in self.graphs)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created.isoformat(),
            "note": self.note,
            "content_hash": self.content_hash,
            "triples": self.triples,
            "graphs": [graph.as_json() for graph in self.graphs],
            "store_version": self.store_version,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Release:
        return cls(
            id=data["id"],
            created=_time(data["created"]),
            note=data["note"],
            content_hash=data["content_hash"],
            graphs=tuple(
                ReleasedGraph(g["graph"], g["triples"], g["digest"], g["source_digest"]) for g in data["graphs"]
            ),
            store_version=data["store_version"],
        )


@dataclass(frozen=True)
class DeletedRelease:
    id: str
    created: datetime
    note: str
    deleted: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created.isoformat(),
            "note": self.note,
            "deleted": self.deleted.isoformat(),
        }


@dataclass(frozen=True)
class ReleaseStatus:
    """Which release an answer was computed on: the last release, and whether the data still equals it.

    An answer computed on a release's snapshot is always `current` (its data is that release's).
    """

    release: Release | None
    current: bool

    def header(self) -> str:
        """The `Samverkan-Release` header: `ID`, `changed-since ID` or `none`."""
        if self.release is None:
            return "none"
        return self.release.id if self.current else f"changed-since {self.release.id}"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.release.id if self.release else None,
            "current": self.current,
            "note": self.release.note if self.release else None,
            "created": self.release.created.isoformat() if self.release else None,
        }


def describe_snapshot(path: str) -> tuple[str, tuple[ReleasedGraph, ...]]:
    """The content hash and the graphs of a snapshot, read from the snapshot itself (so they describe exactly it)."""
    store = SnapshotStore(path)
    sources = recorded_digests(store)
    lines: dict[str | None, list[str]] = {}
    for quad in ox.Store.read_only(path):
        graph = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else None
        lines.setdefault(graph, []).append(f"{quad.triple} .\n")
    graphs = []
    for graph in sorted(lines, key=lambda g: (g is not None, g or "")):
        sha = hashlib.sha256()
        for line in sorted(lines[graph]):
            sha.update(line.encode("utf-8"))
        graphs.append(ReleasedGraph(graph, len(lines[graph]), sha.hexdigest(), sources.get(graph or "")))
    content = hashlib.sha256()
    for g in graphs:
        content.update(f"{g.graph or ''}\t{g.triples}\t{g.digest}\n".encode())
    return content.hexdigest(), tuple(graphs)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a whole JSON file or nothing: readers never see half of it."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


class ReleaseArchive:
    """The releases in one folder: make, list, look up, open for queries, delete, and tell the store's status."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._releases: dict[str, Release] = {}  # immutable once made, so read once
        self._latest: tuple[int, dict[str, str]] | None = None  # latest.json by its modification time

    def __repr__(self) -> str:
        return f"ReleaseArchive({str(self.root)!r})"

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """One maker or deleter at a time, across processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def make(self, store: EmbeddedStore, note: str = "") -> tuple[Release, bool]:
        """Freeze the store's present data; (release, True) for a new release, (existing, False) when the data
        equals a release there is, which then becomes the current one."""
        if isinstance(store, SnapshotStore):
            raise StoreError("a release's snapshot is already frozen; make releases of the store itself")
        created = datetime.now(UTC)  # to the microsecond: releases made within one second still sort newest first
        with self._lock():
            building = self.root / f".new-{uuid.uuid4().hex}"
            building.mkdir()
            try:
                version = store.backup(str(building / SNAPSHOT))
                content_hash, graphs = describe_snapshot(str(building / SNAPSHOT))
                same = next((r for r in self.list() if r.content_hash == content_hash), None)
                if same is not None:
                    self._point_latest(same, version)
                    return same, False
                release = Release(
                    self._free_id(created, content_hash), created, note.strip(), content_hash, graphs, version
                )
                _write_json(building / RELEASE_FILE, release.as_json())
                os.rename(building, self.root / release.id)
            finally:
                shutil.rmtree(building, ignore_errors=True)
            (self.root / DELETED / f"{release.id}.json").unlink(missing_ok=True)  # the same data again
            self._point_latest(release, version)
            return release, True

    def _free_id(self, created: datetime, content_hash: str) -> str:
        """Date and short hash; longer when another release of that day shares the short hash (a rare clash)."""
        for length in range(SHORT_HASH, len(content_hash) + 1):
            candidate = f"{created:%Y-%m-%d}-{content_hash[:length]}"
            if not (self.root / candidate).exists():
                return candidate
        raise StoreError(f"a release of the same content exists in {self.root} under another name")

    def _point_latest(self, release: Release, version: str) -> None:
        _write_json(self.root / LATEST_FILE, {"release": release.id, "store_version": version})

    def list(self) -> list[Release]:
        """Every release there is, newest first."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            if RELEASE_ID.fullmatch(folder.name) and (folder / RELEASE_FILE).is_file():
                found.append(self.get(folder.name))
        return sorted(found, key=lambda r: (r.created, r.id), reverse=True)

    def get(self, release_id: str) -> Release:
        """A release by identifier; UnknownRelease when there never was one, ReleaseGone when it was deleted."""
        if not RELEASE_ID.fullmatch(release_id):
            raise UnknownRelease(
                f"'{release_id}' is not a release identifier (YYYY-MM-DD-hash, e.g. 2026-05-14-3fa2b9c1)"
            )
        file = self.root / release_id / RELEASE_FILE
        if not file.is_file():
            self._releases.pop(release_id, None)
            tombstone = self.root / DELETED / f"{release_id}.json"
            if tombstone.is_file():
                data = json.loads(tombstone.read_text(encoding="utf-8"))
                raise ReleaseGone(
                    DeletedRelease(data["id"], _time(data["created"]), data["note"], _time(data["deleted"]))
                )
            raise UnknownRelease(f"there is no release '{release_id}'; GET /api/releases lists them")
        if release_id not in self._releases:
            self._releases[release_id] = Release.from_json(json.loads(file.read_text(encoding="utf-8")))
        return self._releases[release_id]

    def snapshot_path(self, release_id: str) -> str:
        """Where a release's snapshot is (for `QueryJob.snapshot`); raises as `get` does."""
        return str(self.root / self.get(release_id).id / SNAPSHOT)

    def open(self, release_id: str) -> SnapshotStore:
        """A release's data, read-only, to query in this process."""
        return SnapshotStore(self.snapshot_path(release_id))

    def delete(self, release_id: str, now: datetime | None = None) -> DeletedRelease:
        """Remove a release's snapshot, keeping a note of it so its cite URLs say it is gone."""
        with self._lock():
            release = self.get(release_id)
            deleted = DeletedRelease(
                release.id, release.created, release.note, (now or datetime.now(UTC)).replace(microsecond=0)
            )
            (self.root / DELETED).mkdir(exist_ok=True)
            _write_json(self.root / DELETED / f"{release.id}.json", deleted.as_json())
            trash = self.root / f".trash-{uuid.uuid4().hex}"
            os.rename(self.root / release.id, trash)  # gone at once for readers; the files go next
            shutil.rmtree(trash)
            self._releases.pop(release.id, None)
            return deleted

    def status(self, store: Store) -> ReleaseStatus:
        """The last release and whether the store's data still equals it (one small file read)."""
        latest = self._read_latest()
        if latest is not None:
            try:
                release = self.get(latest["release"])
            except LookupError:
                pass
            else:
                return ReleaseStatus(release, latest["store_version"] == store.version())
        remaining = self.list()
        return ReleaseStatus(remaining[0] if remaining else None, False)

    def _read_latest(self) -> dict[str, str] | None:
        path = self.root / LATEST_FILE
        try:
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        if self._latest is None or self._latest[0] != mtime:
            self._latest = (mtime, json.loads(path.read_text(encoding="utf-8")))
        return self._latest[1]


def releases_folder(config: Config, store: Store) -> Path:
    """Where the store's releases go: `config.releases_dir`, else STORE.releases beside an on-disk store, else (for
    the in-memory store) a temporary folder removed with the store, as its data is.

    Raises ReleasesUnsupported for a remote store.
    """
    if not isinstance(store, EmbeddedStore):
        raise ReleasesUnsupported(
            f"releases need the embedded store; the {store.describe_location()} cannot be frozen from here. "
            "Export it (samverkan export) and serve it with --store PATH to make releases."
        )
    if config.releases_dir is not None:
        return config.releases_dir
    if not store.temporary:
        path = Path(store.path).resolve()
        return path.with_name(path.name + ".releases")
    folder = tempfile.mkdtemp(prefix="samverkan-releases-", dir=memory_folder())
    weakref.finalize(store, shutil.rmtree, folder, True)
    return Path(folder)


def open_archive(config: Config, store: Store) -> ReleaseArchive:
    """The store's releases (ReleasesUnsupported for a remote store); open it once per process."""
    return ReleaseArchive(releases_folder(config, store))
