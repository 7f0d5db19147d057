"""The store: loading the shipped files into named graphs, reloading only what changed, refusing bad files."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from conftest import ROOT, replace_graphs, samverkan

from service import store as store_module
from service.export import quads
from service.ingest import DataFileError
from service.ingest import shipped as shipped_module
from service.ingest.progress import Progress
from service.ingest.reasoning import Inference
from service.ingest.schema import Schema
from service.ingest.shipped import BuildCache, BuiltGraph, shipped_sources, study_source, sync
from service.ingest.study import read_study
from service.namespaces import GRAPH_CATALOGUE, GRAPH_ONTOLOGY, GRAPH_REFERENCE, GRAPH_VOCABULARIES, study_graph
from service.store import EmbeddedStore, StoreError, UpdateError, declares_dataset

SEED = study_graph("samverkan-som-strategi")


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A copy of the shipped ontology/ and data/ that a test may break."""
    root = tmp_path / "root"
    for folder in ("ontology", "data"):
        shutil.copytree(ROOT / folder, root / folder)
    return root


def count(store: EmbeddedStore, graph: str | None = None) -> int:
    where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "GRAPH ?g { ?s ?p ?o }"
    result = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
    assert isinstance(result, ox.QuerySolutions)
    return int(next(iter(result))["n"].value)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM <http://g> WHERE { ?s ?p ?o }", True),
        ("select * from named <http://g> { graph ?g { ?s ?p ?o } }", True),
        ("SELECT * WHERE { ?s <http://ex/from> ?from }", False),
        ("PREFIX ex: <http://ex/>\nSELECT * WHERE { ?s ex:from 'FROM <x>' } # FROM <y>", False),
        ("SELECT * WHERE { ?s ?p '''\nFROM\n''' }", False),
    ],
)
def test_declares_dataset(query: str, expected: bool) -> None:
    assert declares_dataset(query) is expected


def test_each_source_in_its_own_named_graph_and_reloaded_only_when_changed(data_root: Path, tmp_path: Path) -> None:
    store = EmbeddedStore(str(tmp_path / "store"))
    loaded = sync(store, shipped_sources(data_root, examples=False))
    assert {GRAPH_ONTOLOGY, GRAPH_VOCABULARIES, GRAPH_REFERENCE, SEED} <= set(loaded)
    assert set(store.named_graphs()) == {*loaded, GRAPH_CATALOGUE}
    assert sync(store, shipped_sources(data_root, examples=False)) == []

    vocabulary = data_root / "ontology" / "vocabularies.ttl"
    extra = "<https://w3id.org/samverkan/id/x> <http://www.w3.org/2000/01/rdf-schema#label> 'x' ."
    vocabulary.write_text(vocabulary.read_text() + "\n" + extra + "\n")
    before = count(store, GRAPH_REFERENCE)
    # A study is resolved and reasoned against the vocabularies, so it is rebuilt with them.
    rebuilt = [GRAPH_VOCABULARIES, SEED, SEED + "/inferred", SEED + "/counts"]
    assert sync(store, shipped_sources(data_root, examples=False)) == rebuilt
    assert count(store, GRAPH_REFERENCE) == before
    size = f"<{GRAPH_VOCABULARIES}> <http://rdfs.org/ns/void#triples> ?n"
    sizes = store.query(f"SELECT ?n WHERE {{ GRAPH <{GRAPH_CATALOGUE}> {{ {size} }} }}")
    assert isinstance(sizes, ox.QuerySolutions)
    assert [int(row["n"].value) for row in sizes] == [count(store, GRAPH_VOCABULARIES)]


def test_a_broken_turtle_file_names_file_and_line_and_changes_nothing(data_root: Path, tmp_path: Path) -> None:
    store = EmbeddedStore(str(tmp_path / "store"))
    sync(store, shipped_sources(data_root, examples=False))
    before = count(store)
    ontology = data_root / "ontology" / "samverkan.ttl"
    ontology.write_text(ontology.read_text() + "\n<https://w3id.org/samverkan/id/x> a .\n")
    (data_root / "ontology" / "vocabularies.ttl").write_text("# emptied\n")
    with pytest.raises(DataFileError) as raised:
        sync(store, shipped_sources(data_root, examples=False))
    lines = len(ontology.read_text().splitlines())
    assert "samverkan.ttl" in str(raised.value)
    assert f"line {lines}" in str(raised.value)
    assert count(store) == before  # the emptied vocabulary was not loaded either


def test_a_bad_reference_row_names_file_row_and_column(data_root: Path, tmp_path: Path) -> None:
    municipalities = data_root / "data" / "reference" / "kommuner.csv"
    lines = municipalities.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[0], "123", 1)
    municipalities.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataFileError) as raised:
        sync(EmbeddedStore(), shipped_sources(data_root))
    assert str(raised.value) == (
        f"{municipalities}, row 4, column 'kommunkod': '123' is not a four-digit kommunkod (e.g. 0484)"
    )


def test_serve_refuses_an_unreadable_data_file_with_a_clear_error(data_root: Path) -> None:
    (data_root / "ontology" / "samverkan.ttl").write_text("@prefix : <http://x/> .\n:a :b .\n")
    result = subprocess.run(
        samverkan("serve", "--data-root", str(data_root), "--port", "1"), capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "samverkan.ttl" in result.stderr
    assert "line 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_replaces_one_graph_and_refuses_bad_files(tmp_path: Path) -> None:
    store_path = str(tmp_path / "store")
    good = tmp_path / "links.ttl"
    good.write_text("<http://example.org/a> <http://example.org/b> 'c' , 'd' .\n")
    result = subprocess.run(
        samverkan("import", str(good), "--graph", "http://example.org/g", "--store", store_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    bad = tmp_path / "bad.nt"
    bad.write_text("<http://example.org/a> <http://example.org/b> .\n")
    result = subprocess.run(
        samverkan("import", str(bad), "--graph", "http://example.org/g", "--store", store_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "bad.nt" in result.stderr
    assert "line 1" in result.stderr
    store = EmbeddedStore(store_path)
    assert count(store, "http://example.org/g") == 2


def test_built_graphs_are_reused_from_the_cache_by_digest(data_root: Path, tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    first = EmbeddedStore(str(tmp_path / "first"))
    sync(first, shipped_sources(data_root, examples=False), cache)

    def refuse() -> list[BuiltGraph]:
        raise AssertionError("built again although the cache holds this digest")

    cached_only = [replace(source, build=refuse) for source in shipped_sources(data_root, examples=False)]
    second = EmbeddedStore(str(tmp_path / "second"))
    sync(second, cached_only, cache)
    for graph in (SEED, SEED + "/inferred", GRAPH_REFERENCE):
        assert count(second, graph) == count(first, graph) > 0
    # A changed file means a new digest: that source is built, not taken from the cache.
    study = data_root / "data" / "studies" / "samverkan-som-strategi" / "study.ttl"
    study.write_text(study.read_text() + "\n# changed\n")
    with pytest.raises(AssertionError, match="built again"):
        sources = [replace(source, build=refuse) for source in shipped_sources(data_root, examples=False)]
        sync(EmbeddedStore(str(tmp_path / "third")), sources, cache)


def triples(n: int, tag: str) -> list[ox.Triple]:
    p = ox.NamedNode("http://example.org/p")
    return [ox.Triple(ox.NamedNode(f"http://example.org/{tag}{i}"), p, ox.Literal(str(i))) for i in range(n)]


def test_replacing_graphs_swaps_in_a_new_store_and_a_failure_changes_nothing(tmp_path: Path) -> None:
    """Both ways of building the new store: from a checkpoint (a small graph replaced beside a large one) and by
    copying the rest (the large graph replaced); a refused update at the end leaves everything as it was."""
    big, small = "http://example.org/big", "http://example.org/small"
    store = EmbeddedStore(str(tmp_path / "store"))
    (tmp_path / "store.samverkan-next").mkdir()  # left by a load that was killed: the next one starts afresh
    (tmp_path / "store.samverkan-next" / "CURRENT").write_text("junk")
    replace_graphs(store, {big: triples(300, "b"), small: triples(5, "s")}, "INSERT DATA { <http://x> <http://y> 1 }")
    reader = EmbeddedStore(store.path)
    assert (count(reader, big), count(reader, small)) == (300, 5)
    replace_graphs(store, {small: triples(3, "t")}, "DELETE DATA { <http://x> <http://y> 1 }")
    assert (count(reader, big), count(reader, small)) == (300, 3)
    replace_graphs(store, {big: triples(40, "c"), small: []}, "INSERT DATA { <http://x> <http://y> 2 }")
    assert (count(reader, big), count(reader, small)) == (40, 0)
    assert reader.query("ASK { <http://x> <http://y> 2 }")
    before = reader.version()
    with pytest.raises(UpdateError):
        replace_graphs(store, {big: triples(7, "d")}, "DROP GRAPH <http://example.org/none>")
    assert reader.version() == before
    assert count(reader, big) == 40
    assert not Path(store.path + ".samverkan-next").exists()


def test_a_graph_is_written_while_the_replace_goes_on_and_a_failure_after_it_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A put graph goes to the bulk loader at once, in the background; when the block then fails (the reasoner
    refuses the study), the new store is thrown away and readers still see the old one."""
    g, other = "http://example.org/g", "http://example.org/other"
    store = EmbeddedStore(str(tmp_path / "store"))
    replace_graphs(store, {g: triples(4, "a")}, "")
    reader = EmbeddedStore(store.path)
    before = reader.version()
    writing = threading.Event()
    write = store_module._bulk_write

    def watched(
        new: ox.Store, graph: ox.NamedNode, given: list[ox.Triple], ntriples: list[bytes] | None, stop: threading.Event
    ) -> None:
        writing.set()
        write(new, graph, given, ntriples, stop)

    monkeypatch.setattr(store_module, "_bulk_write", watched)
    with pytest.raises(RuntimeError, match="refused"), store.replacing([g, other]) as replacement:
        replacement.put(g, triples(9, "b"))
        with pytest.raises(ValueError, match="not a graph this replace may still write"):
            replacement.put(g, triples(1, "c"))  # once only, and only the graphs it was opened for
        with pytest.raises(ValueError, match="not a graph this replace may still write"):
            replacement.put("http://example.org/unnamed", triples(1, "c"))
        assert writing.wait(60), "the graph was not written before the block ended"
        raise RuntimeError("the reasoner refused the study")
    assert reader.version() == before
    assert (count(reader, g), count(reader, other)) == (4, 0)
    assert not Path(store.path + ".samverkan-next").exists()


def test_a_failed_write_is_said_before_the_replace_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller need not finish its work (reasoning over a study) to hear that the store refused a graph."""
    g = "http://example.org/g"

    def full(new: ox.Store, graph: ox.NamedNode, *given: object) -> None:
        raise OSError(28, "No space left on device")

    store = EmbeddedStore(str(tmp_path / "store"))
    monkeypatch.setattr(store_module, "_bulk_write", full)
    with pytest.raises(StoreError, match=r"could not be written: .*No space left"), store.replacing([g]) as replacement:
        replacement.put(g, triples(2, "a"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            replacement.submit(lambda stop: None)  # more work for the store: refused once the write has failed
            time.sleep(0.01)
        pytest.fail("the failed write was not said while the replace went on")
    assert count(store, g) == 0
    assert not Path(store.path + ".samverkan-next").exists()


def test_a_study_graph_is_stored_while_it_is_reasoned_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = ROOT / "data" / "examples" / "fiktiv-fokusgrupper-2011"
    source = study_source(ROOT, folder, Schema(ROOT))
    writing: list[str] = []
    write, reason = store_module._bulk_write, shipped_module.reason_over

    def watched(
        new: ox.Store, graph: ox.NamedNode, given: list[ox.Triple], ntriples: list[bytes] | None, stop: threading.Event
    ) -> None:
        writing.append(graph.value)
        write(new, graph, given, ntriples, stop)

    def reason_once_written(*args: Any, **options: Any) -> Inference:
        deadline = time.monotonic() + 60
        while not writing and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writing == [source.graphs[0]], "the study's graph was not being stored when reasoning began"
        return reason(*args, **options)

    monkeypatch.setattr(store_module, "_bulk_write", watched)
    monkeypatch.setattr(shipped_module, "reason_over", reason_once_written)
    store = EmbeddedStore(str(tmp_path / "store"))
    assert sync(store, [source]) == list(source.graphs)
    assert writing == list(source.graphs)
    assert all(count(store, graph) > 0 for graph in source.graphs)


def test_a_study_is_stored_as_it_was_read(tmp_path: Path) -> None:
    """The study's graph is written from the N-Triples pieces the reasoner's store was loaded from (StudyText),
    not from its triples: the same triples, each piece once."""
    folder = ROOT / "data" / "examples" / "fiktiv-fokusgrupper-2011"
    schema = Schema(ROOT)
    store = EmbeddedStore(str(tmp_path / "store"))
    source = study_source(ROOT, folder, schema)
    assert sync(store, [source]) == list(source.graphs)
    read = read_study(folder, schema, Progress())
    stored = quads(store, source.graphs[0])
    assert len(stored) == len(read.asserted) > 0
    assert {q.triple for q in stored} == set(read.asserted)


def test_graphs_go_to_the_bulk_loader_in_chunks_and_a_blank_node_stays_one_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of N-Triples text, except from the first chunk with a blank node on (its parser would name the node
    anew in each chunk); a literal that reads like one ("_:") is stored as written."""
    monkeypatch.setattr(store_module, "BULK_BATCH", 2)
    node, p, g = ox.BlankNode(), ox.NamedNode("http://example.org/p"), "http://example.org/g"
    given = [*triples(3, "a"), ox.Triple(ox.NamedNode("http://example.org/x"), p, ox.Literal("_:not a node"))]
    given += [ox.Triple(node, p, ox.Literal(str(i))) for i in range(3)]
    store = EmbeddedStore(str(tmp_path / "store"))
    replace_graphs(store, {g: given}, "")
    assert count(store, g) == len(given)
    blank = store.query(f"SELECT (COUNT(DISTINCT ?s) AS ?n) {{ GRAPH <{g}> {{ ?s ?p ?o FILTER isBlank(?s) }} }}")
    assert isinstance(blank, ox.QuerySolutions)
    assert next(iter(blank))["n"].value == "1"
    assert store.query(f'ASK {{ GRAPH <{g}> {{ <http://example.org/x> ?p "_:not a node" }} }}')


def test_a_swap_interrupted_midway_is_undone_when_the_store_is_opened(tmp_path: Path) -> None:
    """Where the folders cannot be swapped in one step, a crash may leave the old store aside: it is put back."""
    path = tmp_path / "store"
    replace_graphs(EmbeddedStore(str(path)), {"http://example.org/g": triples(4, "a")}, "CLEAR SILENT DEFAULT")
    path.rename(tmp_path / "store.samverkan-aside")
    assert count(EmbeddedStore(str(path)), "http://example.org/g") == 4


def test_a_second_writer_is_told_to_wait(tmp_path: Path) -> None:
    store = EmbeddedStore(str(tmp_path / "store"))
    with store._lock(), pytest.raises(StoreError, match="being written by another process"):
        replace_graphs(EmbeddedStore(store.path), {"http://example.org/g": triples(1, "a")}, "CLEAR SILENT DEFAULT")
