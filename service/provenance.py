"""Which release an answer was computed on, and its cite URL: what the HTTP answers and pages say, and what a
cite URL resolves to (docs/citing.md).

An answer of a saved SELECT query computed while the store's data equals the last release can be cited: its
cite key (service/citation.py) is issued with the answer. A cite URL is resolved on the release's snapshot,
its parameters read against the release's data (so a municipality's name finds the IRI it had then).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.citation import CitationArchive, CitationRecord, CiteKey, ResultTable, normal_parameters, snapshot_runner
from service.parameters import Candidates, Term, arguments, bind, term_rows
from service.releases import Release, ReleaseArchive, ReleaseStatus, ReleasesUnsupported
from service.runtime import Services
from service.saved_queries import SavedQuery


@dataclass(frozen=True)
class Provenance:
    """The release status of an answer (None: this store has no releases) and its cite key, when citable."""

    status: ReleaseStatus | None
    cite: CiteKey | None

    def header(self) -> str:
        """The `Samverkan-Release` header; `none` also where releases cannot be made (a remote store)."""
        return self.status.header() if self.status else "none"

    def as_json(self) -> dict[str, Any] | None:
        """The `release` member of JSON answers: null where releases cannot be made."""
        return self.status.as_json() if self.status else None


def provenance(
    services: Services, query: SavedQuery | None = None, bindings: Mapping[str, Sequence[Term]] | None = None
) -> Provenance:
    """The release status now; with a saved SELECT query and its bindings, also its cite key if the data is a
    release (the citation's record is kept from this first hand-out on)."""
    if services.releases is None or services.citations is None:
        return Provenance(None, None)
    status = services.releases.status(services.store)
    if not (status.current and status.release and query is not None and query.form == "select"):
        return Provenance(status, None)
    key = CiteKey.of(status.release.id, query, bindings or {})
    services.citations.issue(key, query, bind(query.text, bindings or {}))
    return Provenance(status, key)


class UnknownQuery(LookupError):
    """A cite URL names a saved query (or version) this service does not have and never cited."""


@dataclass(frozen=True)
class Citation:
    """A cite URL, looked up: the release, the canonical key and the record kept of it."""

    release: Release
    key: CiteKey
    record: CitationRecord


def _archives(services: Services) -> tuple[ReleaseArchive, CitationArchive]:
    if services.releases is None or services.citations is None:
        raise ReleasesUnsupported(
            f"this service answers from the {services.store.describe_location()}, which has no releases; "
            "there is nothing to cite here"
        )
    return services.releases, services.citations


def release_snapshot(services: Services, release_id: str) -> tuple[Release, str]:
    """A release and where its snapshot is, to query it (ReleaseGone, UnknownRelease, ReleasesUnsupported)."""
    releases, _ = _archives(services)
    release = releases.get(release_id)
    return release, releases.snapshot_path(release.id)


def on_release(release: Release) -> Provenance:
    """What an answer computed on a release's snapshot says: that release, current (its data is the release's)."""
    return Provenance(ReleaseStatus(release, current=True), None)


def citation(
    services: Services, release_id: str, name: str, version: int, given: Mapping[str, Sequence[str]]
) -> Citation:
    """The cite URL's release, canonical key and record (issued now at its first use).

    Raises ReleaseGone, UnknownRelease, ReleasesUnsupported, UnknownQuery, ParameterError (the parameters,
    read against the release's data) or CitationError (not a SELECT).
    """
    releases, citations = _archives(services)
    release = releases.get(release_id)
    record = citations.get(CiteKey(release.id, name, version, normal_parameters(given)))
    if record is not None:
        return Citation(release, record.key, record)
    query = services.library.current().get(name, version)
    if query is None:
        raise UnknownQuery(f"this service has no saved query '{name}' version {version}, and it was never cited")
    snapshot = releases.snapshot_path(release.id)
    on_release = Candidates(lambda sparql: term_rows(services.select(sparql, snapshot)))
    bindings = arguments(query.parameters, given, on_release)
    key = CiteKey.of(release.id, query, bindings)
    return Citation(release, key, citations.issue(key, query, bind(query.text, bindings)))


def resolve(services: Services, cited: Citation) -> tuple[CitationRecord, ResultTable]:
    """The cited rows, computed again on the release and checked against the record (CitationMismatch)."""
    releases, citations = _archives(services)
    run = snapshot_runner(services.executor, releases.snapshot_path(cited.release.id))
    return citations.resolve(cited.record, run)
