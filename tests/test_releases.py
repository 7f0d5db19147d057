"""Data releases and cited results, on real on-disk stores holding the shipped data and the real saved queries."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import ROOT, samverkan
from rocrate.rocrate import ROCrate

from service.citation import (
    CitationArchive,
    CitationMismatch,
    CitationRecord,
    CiteKey,
    ResultTable,
    citation_texts,
    ro_crate_zip,
    snapshot_runner,
)
from service.config import Config
from service.executor import InlineExecutor, Limits, WorkerPoolExecutor
from service.ingest.shipped import BuildCache, shipped_sources, sync
from service.namespaces import study_graph
from service.parameters import Candidates, Row, Text, arguments, bind
from service.releases import ReleaseArchive, ReleaseGone, UnknownRelease, open_archive, releases_folder
from service.saved_queries import QueryLibrary, SavedQuery
from service.store import EmbeddedStore, RemoteStore, SnapshotStore, StoreError

SEED = study_graph("samverkan-som-strategi")
COMPARE = "compare-studies-side-by-side"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the ontology, vocabularies, reference lists and the seed study (no example studies)."""
    path = tmp_path_factory.mktemp("seeded") / "store"
    sync(EmbeddedStore(str(path)), shipped_sources(ROOT, examples=False), BuildCache(ROOT / ".cache" / "builds"))
    return path


@pytest.fixture
def store(seeded: Path, tmp_path: Path) -> EmbeddedStore:
    shutil.copytree(seeded, tmp_path / "store")
    return EmbeddedStore(str(tmp_path / "store"))


@pytest.fixture
def archive(tmp_path: Path) -> ReleaseArchive:
    return ReleaseArchive(tmp_path / "store.releases")


def load_examples(store: EmbeddedStore) -> list[str]:
    return sync(store, shipped_sources(ROOT, examples=True), BuildCache(ROOT / ".cache" / "builds"))


def lookup_on(store: EmbeddedStore) -> Candidates:
    def lookup(sparql: str) -> list[Row]:
        result = store.query(sparql)
        assert isinstance(result, ox.QuerySolutions)
        names = [v.value for v in result.variables]
        return [{n: row[n] for n in names if isinstance(row[n], ox.NamedNode | ox.Literal)} for row in result]

    return Candidates(lookup)


def live_table(store: EmbeddedStore, sparql: str) -> ResultTable:
    result = store.query(sparql)
    assert isinstance(result, ox.QuerySolutions)
    return ResultTable.from_solutions(result)


# --- releases ----------------------------------------------------------------------------------------------


def test_a_release_freezes_the_data_with_its_graphs_and_says_when_the_store_changed(
    store: EmbeddedStore, archive: ReleaseArchive
) -> None:
    assert archive.status(store).header() == "none"
    release, new = archive.make(store, "  the seed study  ")
    assert new and release.note == "the seed study"
    assert re.fullmatch(rf"{release.created:%Y-%m-%d}-{release.content_hash[:8]}", release.id)
    graphs = {g.graph: g for g in release.graphs}
    assert set(graphs) == set(store.named_graphs())
    catalogue = store.query(
        f"SELECT ?d WHERE {{ GRAPH ?c {{ <{SEED}> <https://w3id.org/samverkan/ontology#sourceDigest> ?d }} }}"
    )
    assert isinstance(catalogue, ox.QuerySolutions)
    assert graphs[SEED].source_digest == next(iter(catalogue))["d"].value
    status = archive.status(store)
    assert status.current and status.header() == release.id
    assert status.as_json() == {
        "id": release.id,
        "current": True,
        "note": "the seed study",
        "created": release.created.isoformat(),
    }

    again, new = archive.make(store, "nothing changed")
    assert (again, new) == (release, False)
    assert [r.id for r in archive.list()] == [release.id]

    store.update("INSERT DATA { GRAPH <https://example.org/g> { <https://example.org/s> <https://example.org/p> 1 } }")
    assert archive.status(store).header() == f"changed-since {release.id}"
    later, new = archive.make(store, "one more triple")
    assert new and later.content_hash != release.content_hash
    assert [r.id for r in archive.list()] == [later.id, release.id]
    assert ReleaseArchive(archive.root).status(store).header() == later.id  # what another process sees


def test_a_release_keeps_its_data_while_the_store_changes(store: EmbeddedStore, archive: ReleaseArchive) -> None:
    release, _ = archive.make(store)
    loaded = load_examples(store)
    assert loaded and set(loaded) <= set(store.named_graphs())
    frozen = archive.open(release.id)
    assert set(frozen.named_graphs()).isdisjoint(loaded)
    assert frozen.named_graphs() == sorted(g.graph for g in release.graphs if g.graph)
    with pytest.raises(StoreError, match="frozen"):
        frozen.update("INSERT DATA { <https://example.org/s> <https://example.org/p> 1 }")


def test_a_deleted_release_is_gone_and_an_unknown_one_never_was(store: EmbeddedStore, archive: ReleaseArchive) -> None:
    release, _ = archive.make(store, "to be deleted")
    deleted = archive.delete(release.id, now=datetime(2030, 1, 2, tzinfo=UTC))
    assert deleted.note == "to be deleted"
    with pytest.raises(ReleaseGone, match=rf"{release.id} .*to be deleted.* deleted on 2030-01-02"):
        archive.snapshot_path(release.id)
    assert archive.list() == [] and archive.status(store).release is None
    for name in ("2020-01-01-00000000", "../store", "latest.json"):
        with pytest.raises(UnknownRelease):
            archive.get(name)
    with pytest.raises(StoreError, match="no store"):
        SnapshotStore(str(archive.root / release.id / "store"))  # never re-created empty
    again, new = archive.make(store)  # the same data once more: the same identifier, no longer gone
    assert new and again.id == release.id and archive.get(release.id) == again


def test_where_releases_live(tmp_path: Path) -> None:
    on_disk = EmbeddedStore(str(tmp_path / "db"))
    assert releases_folder(Config(), on_disk) == (tmp_path / "db.releases").resolve()
    assert releases_folder(Config(releases_dir=tmp_path / "elsewhere"), on_disk) == tmp_path / "elsewhere"
    in_memory = EmbeddedStore()
    folder = releases_folder(Config(), in_memory)
    assert folder.is_dir()
    del in_memory  # a temporary store takes its releases with it
    assert not folder.exists()
    with pytest.raises(StoreError, match="releases need the embedded store"):
        open_archive(Config(), RemoteStore("http://127.0.0.1:9/query"))


# --- cited results -----------------------------------------------------------------------------------------


@pytest.fixture
def library(tmp_path: Path) -> QueryLibrary:
    return QueryLibrary(ROOT / "queries", tmp_path / "user-queries")


@pytest.fixture
def workers(tmp_path: Path, store: EmbeddedStore) -> Iterator[WorkerPoolExecutor]:
    executor = WorkerPoolExecutor(store.path, Limits(), size=1)
    yield executor
    executor.close()


def cite(
    citations: CitationArchive, release: str, query: SavedQuery, given: dict[str, list[str]], store: EmbeddedStore
) -> tuple[CiteKey, str, CitationRecord]:
    bindings = arguments(query.parameters, given, lookup_on(store))
    key = CiteKey.of(release, query, bindings)
    sparql = bind(query.text, bindings)
    return key, sparql, citations.issue(key, query, sparql)


def test_cited_rows_stay_after_another_study_is_loaded_and_the_query_gets_a_new_version(
    store: EmbeddedStore, archive: ReleaseArchive, library: QueryLibrary, workers: WorkerPoolExecutor
) -> None:
    text = library.current().get(COMPARE)
    assert text is not None
    mine, _ = library.save(text.text.replace(f"#+ name: {COMPARE}", "#+ name: my-comparison"))
    release, _ = archive.make(store, "seed study only")
    citations = CitationArchive(archive.root)
    key, sparql, record = cite(citations, release.id, mine, {"dimension": ["goal"]}, store)
    run = snapshot_runner(workers, archive.snapshot_path(release.id))
    record, cited = citations.resolve(record, run)
    assert record.rows == len(cited.rows) > 0 and record.result_sha256 == cited.sha256()
    assert live_table(store, sparql).sha256() == record.result_sha256  # the store still equals the release

    load_examples(store)
    newer, _ = library.save(mine.text + "LIMIT 3\n")
    assert newer.version == 2 and library.current().get("my-comparison") == newer
    assert live_table(store, sparql).sha256() != record.result_sha256  # the current answer has more studies
    assert archive.status(store).header() == f"changed-since {release.id}"

    pinned = library.current().get("my-comparison", 1)  # what the cite URL names: version 1
    assert pinned is not None
    again_key, _, again = cite(citations, release.id, pinned, {"dimension": ["goal"]}, store)
    assert again_key == key and again.first_cited == record.first_cited
    again, rows = citations.resolve(again, run)
    assert rows.canonical() == cited.canonical() and again == record


def test_a_recomputation_that_differs_from_the_cited_rows_is_an_error(
    store: EmbeddedStore, archive: ReleaseArchive, library: QueryLibrary
) -> None:
    query = library.current().get(COMPARE)
    assert query is not None
    release, _ = archive.make(store)
    citations = CitationArchive(archive.root)
    _, _, record = cite(citations, release.id, query, {}, store)
    run = snapshot_runner(InlineExecutor(store, Limits()), archive.snapshot_path(release.id))
    record, _ = citations.resolve(record, run)
    file = citations.root / record.key.record_name()
    data = json.loads(file.read_text())
    data["result_sha256"] = "0" * 64
    file.write_text(json.dumps(data))
    tampered = citations.get(record.key)
    assert tampered is not None
    with pytest.raises(CitationMismatch, match=f"{record.rows} rows with SHA-256 {record.result_sha256}, but"):
        citations.resolve(tampered, run)


def test_parameters_are_normalised_so_order_and_spelling_do_not_matter(
    store: EmbeddedStore, library: QueryLibrary, tmp_path: Path
) -> None:
    query = library.current().get(COMPARE)
    assert query is not None
    citations = CitationArchive(tmp_path)
    studies = ["samverkan-som-strategi", "https://w3id.org/samverkan/id/study/samverkan-som-strategi"]
    first, _, _ = cite(citations, "2026-01-01-abcdef12", query, {"study": studies, "dimension": ["form"]}, store)
    second, _, _ = cite(citations, "2026-01-01-abcdef12", query, {"dimension": ["form"], "study": studies[::-1]}, store)
    defaulted, _, _ = cite(citations, "2026-01-01-abcdef12", query, {"study": studies[:1]}, store)
    assert first == second == defaulted
    assert first.path() == (
        f"/cite/2026-01-01-abcdef12/{COMPARE}/v1?dimension=form&language=sv"
        "&study=https://w3id.org/samverkan/id/study/samverkan-som-strategi"
    )
    assert first.path("/ro-crate.zip").startswith(f"/cite/2026-01-01-abcdef12/{COMPARE}/v1/ro-crate.zip?dimension=")


def test_citation_texts_and_the_ro_crate_carry_what_is_needed_to_cite_and_check(
    store: EmbeddedStore, archive: ReleaseArchive, library: QueryLibrary, tmp_path: Path
) -> None:
    query = library.current().get(COMPARE)
    assert query is not None
    release, _ = archive.make(store, "release for {BibTeX} & 100 % checks")
    citations = CitationArchive(archive.root)
    key, _, record = cite(citations, release.id, query, {"dimension": ["tool"]}, store)
    record, table = citations.resolve(
        record, snapshot_runner(InlineExecutor(store, Limits()), archive.snapshot_path(release.id))
    )
    url = "https://samverkan.example" + key.path()
    texts = citation_texts(record, release, url)
    assert url in texts.plain and str(record.result_sha256) in texts.plain
    assert texts.bibtex.startswith(f"@misc{{samverkan-{COMPARE}-v1-{release.id},")
    assert f"url = {{{url}}}" in texts.bibtex
    assert texts.csl["type"] == "dataset" and texts.csl["URL"] == url and texts.csl["version"] == release.id
    odd = citation_texts(replace(record, title=Text("A & B {x} 100 %", "A & B {x} 100 % #1")), release, url)
    assert "title = {{A \\& B \\{x\\} 100 \\% \\#1}}," in odd.bibtex
    assert odd.as_json()["csl"]["title"] == "A & B {x} 100 % #1"

    crate_zip = tmp_path / "crate.zip"
    crate_zip.write_bytes(ro_crate_zip(record, release, table, url))
    with zipfile.ZipFile(crate_zip) as opened:
        files = {name: opened.read(name) for name in opened.namelist()}
    assert hashlib.sha256(files["result-canonical.tsv"]).hexdigest() == record.result_sha256
    assert files["query.rq"].decode() == query.text
    assert json.loads(files["parameters.json"]) == {"dimension": ["tool"], "language": ["sv"]}
    assert json.loads(files["release.json"])["id"] == release.id
    assert len(files["result.csv"].decode().splitlines()) == len(table.rows) + 1  # header and rows
    crate = ROCrate(str(crate_zip))  # reads back as an RO-Crate
    assert crate.root_dataset["cite-as"] == url and crate.root_dataset["version"] == release.id
    for name, data in files.items():
        if name != "ro-crate-metadata.json":
            assert crate.get(name)["sha256"] == hashlib.sha256(data).hexdigest()
    rows = ResultTable(table.variables, table.rows[1:])
    with pytest.raises(CitationMismatch):
        ro_crate_zip(record, release, rows, url)


def test_a_blank_node_and_an_unbound_value_have_a_stated_canonical_form() -> None:
    result = ox.Store().query('SELECT ?b ?x ?s WHERE { VALUES (?x ?s) { (2 "t\\tab") (1 UNDEF) } BIND(BNODE() AS ?b) }')
    assert isinstance(result, ox.QuerySolutions)
    canonical = ResultTable.from_solutions(result).canonical().decode()
    integer = "<http://www.w3.org/2001/XMLSchema#integer>"
    assert canonical == f'?b\t?x\t?s\n_:\t"1"^^{integer}\t\n_:\t"2"^^{integer}\t"t\\tab"\n'


# --- the command line --------------------------------------------------------------------------------------


def test_release_and_releases_on_the_command_line(seeded: Path, tmp_path: Path) -> None:
    shutil.copytree(seeded, tmp_path / "db")
    made = subprocess.run(
        samverkan("release", "--store", str(tmp_path / "db"), "--note", "first"), capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    release_id = re.search(r"Release (\S+):", made.stdout).group(1)  # type: ignore[union-attr]
    assert (tmp_path / "db.releases" / release_id / "release.json").is_file()
    listed = subprocess.run(samverkan("releases", "--store", str(tmp_path / "db")), capture_output=True, text=True)
    assert release_id in listed.stdout and f"equals release {release_id}" in listed.stdout
    deleted = subprocess.run(
        samverkan("releases", "--store", str(tmp_path / "db"), "--delete", release_id), capture_output=True, text=True
    )
    assert deleted.returncode == 0 and f"Deleted release {release_id}" in deleted.stdout
    in_memory = subprocess.run(samverkan("release"), capture_output=True, text=True)
    assert in_memory.returncode == 2 and "on-disk store" in in_memory.stderr
    remote = subprocess.run(samverkan("release", "--query-url", "http://127.0.0.1:9/q"), capture_output=True, text=True)
    assert remote.returncode == 1 and "releases need the embedded store" in remote.stderr
