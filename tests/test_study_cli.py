"""`samverkan validate`, `load`, `export` and `import` as a researcher runs them: the real command line on copies
of a study folder, against an on-disk store that must not change when a load is refused."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pyoxigraph as ox
import pytest
from conftest import ROOT, replace_graphs, samverkan, start_oxigraph

from service.export import quads
from service.namespaces import GRAPH_CATALOGUE, counts_graph, inferred_graph, study_graph
from service.store import Dataset, EmbeddedStore, RemoteStore, StoreError

TEMPLATES = ROOT / "data" / "templates"
STUDY = "min-studie"  # the id in the template's study.yaml


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(samverkan(*args), capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)


def dump(store: Path, graph: str | None = None) -> list[ox.Quad]:
    return quads(EmbeddedStore(str(store)), graph)


def copy_study(tmp_path: Path, name: str = "studie") -> Path:
    folder = tmp_path / name
    shutil.copytree(TEMPLATES, folder, ignore=shutil.ignore_patterns("*.py"))
    return folder


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A store holding the template study (its CSV and its XLSX sheet), loaded once for the module."""
    store = tmp_path_factory.mktemp("loaded") / "store"
    result = run("load", str(TEMPLATES), "--store", str(store))
    assert result.returncode == 0, result.stdout + result.stderr
    return store, result


def test_load_stores_the_study_and_what_was_inferred_with_a_summary(
    loaded: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    store, result = loaded
    asserted, inferred = dump(store, study_graph(STUDY)), dump(store, inferred_graph(STUDY))
    table = dump(store, counts_graph(STUDY))
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        rf"Loaded {re.escape(str(TEMPLATES))} in [0-9.]+ s \(2 rows: 2 observations, 2 collaborations, 3 actors, "
        r"2 coders\):",
        lines[0],
    )
    assert lines[1:4] == [
        f"  <{study_graph(STUDY)}>  {len(asserted):,} triples",
        f"  <{inferred_graph(STUDY)}>  {len(inferred):,} inferred facts",
        f"  <{counts_graph(STUDY)}>  {len(table):,} triples of counts for comparisons",
    ]
    assert re.fullmatch(
        r"  reading coding sheets [0-9.]+ s, building the graph [0-9.]+ s, validating \(SHACL\) [0-9.]+ s, "
        r"reasoning [0-9.]+ s, counting for comparisons [0-9.]+ s, storing [0-9.]+ s",
        lines[4],
    )
    totals = [q.object.value for q in table if q.predicate.value.endswith("#collaborationTotal")]
    assert totals == ["2"]
    assert result.stderr == ""  # no progress lines when stderr is not a terminal
    inferred_types = {q.object.value for q in inferred if q.predicate.value.endswith("#type")}
    assert "https://w3id.org/samverkan/ontology#MunicipalityUniversityCollaboration" in inferred_types


def test_the_catalogue_describes_both_graphs(loaded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    store, _ = loaded
    catalogue = dump(store, GRAPH_CATALOGUE)
    for graph in (study_graph(STUDY), inferred_graph(STUDY)):
        said = {(q.predicate.value.rsplit("/", 1)[-1], q.object.value) for q in catalogue if q.subject.value == graph}
        assert ("void#triples", str(len(dump(store, graph)))) in said
        assert {value for name, value in said if name == "source"} == {
            "data/templates/coding-sheet.csv",
            "data/templates/coding-sheet.xlsx",
            "data/templates/study.yaml",
        }
        assert any(name == "modified" for name, _ in said)


def test_who_said_this_where_and_in_which_study_is_one_query(
    loaded: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The query of docs/study-format.md, run as written."""
    store, _ = loaded
    docs = (ROOT / "docs" / "study-format.md").read_text(encoding="utf-8")
    query = re.search(r"### Who said this.*?```sparql\n(.*?)```", docs, re.DOTALL)
    assert query
    rows = [
        {
            name: row[name].value if row[name] else None
            for name in ("study", "source", "observation", "quote", "location", "coder", "collaboration")
        }
        for row in ox.Store.read_only(str(store)).query(query[1], use_default_graph_as_union=True)
    ]
    assert rows == [
        {
            "study": "Min studie om kommunal samverkan (mall)",
            "source": "FG1",
            "observation": "FG1-01",
            "quote": "Vi har ett avtal med högskolan och en gemensam styrgrupp.",
            "location": "s. 12",
            "coder": "AA",
            "collaboration": "Samhällskontraktet",
        },
        {
            "study": "Min studie om kommunal samverkan (mall)",
            "source": "FG1",
            "observation": "FG1-02",
            "quote": "Vi driver ett gemensamt projekt med ett lokalt företag.",
            "location": "00:14:32",
            "coder": "BB",
            "collaboration": "0484 \u2013 Exempelbolaget AB",
        },
    ]


def test_loading_again_gives_the_same_graphs_and_another_study_leaves_it_alone(
    loaded: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    store, _ = loaded
    graphs = (study_graph(STUDY), inferred_graph(STUDY))
    before = [dump(store, g) for g in graphs]
    checked = run("validate", str(TEMPLATES), "--store", str(store))
    assert checked.stdout.splitlines()[-1] == f"Loading it would replace the study graph in {store}."
    assert run("load", str(TEMPLATES), "--store", str(store)).returncode == 0
    assert [dump(store, g) for g in graphs] == before

    other = copy_study(tmp_path, "annan")
    (other / "study.yaml").write_text((other / "study.yaml").read_text().replace("id: min-studie", "id: annan"))
    (other / "coding-sheet.xlsx").unlink()
    result = run("load", str(other), "--store", str(store))
    assert result.returncode == 0, result.stdout + result.stderr
    assert [dump(store, g) for g in graphs] == before
    assert len(dump(store, study_graph("annan"))) > 0


# --- Refused loads: every kind of bad input, the exact message, and an unchanged store -------------------------


def replace_in(name: str, old: str, new: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        path = folder / name
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")

    return change


def latin1(folder: Path) -> None:
    sheet = folder / "coding-sheet.csv"
    sheet.write_bytes(sheet.read_text(encoding="utf-8").encode("latin-1"))


def empty(folder: Path) -> None:
    (folder / "coding-sheet.csv").write_text("")


def merged(folder: Path) -> None:
    workbook = openpyxl.load_workbook(folder / "coding-sheet.xlsx")
    sheet = workbook.worksheets[0]
    sheet.append([cell.value for cell in sheet[2]])
    sheet["A3"] = "FG1-03"
    sheet.merge_cells("B2:B3")
    workbook.save(folder / "coding-sheet.xlsx")


def inconsistent(folder: Path) -> None:
    sheet = folder / "coding-sheet.csv"
    rows = sheet.read_text(encoding="utf-8").splitlines()
    extra = "FG1-03,FG1,Sala,,Exempelbolaget,kommunalt bolag,,kommunalt bolag,,,,,,Ett bolag vi äger.,,AA"
    sheet.write_text("\n".join([*rows, extra]) + "\n", encoding="utf-8")


CSV = "coding-sheet.csv"
XLSX = "coding-sheet.xlsx"
BAD_INPUTS = {
    "unknown-municipality": (
        replace_in(CSV, ",Västerås stad,Samhällskontraktet", ",Västeråås,Samhällskontraktet"),
        [
            f"{{folder}}/{CSV}, row 2, column 'municipality': 'Västeråås' is not a known municipality in the "
            "reference list (data/reference/kommuner.csv); closest: 'Västerås', 'Västerås stad', 'Västervik'"
        ],
    ),
    "unknown-form": (
        replace_in(CSV, ",samverkansavtal,", ",samverkansavtall,"),
        [
            f"{{folder}}/{CSV}, row 2, column 'form': 'samverkansavtall' is not a known collaboration form "
            "(samverkansform); closest: 'samverkansavtal', 'samverkansprojekt', 'samarbetsavtal'"
        ],
    ),
    "missing-column": (
        replace_in(CSV, ",coder\n", ",kodare\n"),
        [
            f"{{folder}}/{CSV}: missing column(s) coder; required are observation, source, municipality, partner, "
            "partner_type, form, coder",
            f"{{folder}}/{CSV}, row 1: unknown column 'kodare'; columns are observation, source, municipality, "
            "collaboration, partner, partner_type, partner_orgnr, form, topic, goals, governance_tools, lead_actor, "
            "period, quote, location, coder (start a column's name with # to keep notes in it)",
        ],
    ),
    "empty-file": (
        empty,
        [
            f"{{folder}}/{CSV}: is empty; a coding sheet needs a header row (observation, source, municipality, "
            "partner, partner_type, form, coder, …)"
        ],
    ),
    "latin-1": (
        latin1,
        [
            f"{{folder}}/{CSV}: is not UTF-8 text: byte 0xE4 on line 2 is not valid UTF-8 (the file is probably "
            "Latin-1/Windows-1252, which Excel writes for plain 'CSV'); save it as .xlsx or as 'CSV UTF-8' "
            "(in Excel: Save as → CSV UTF-8)"
        ],
    ),
    "merged-cells": (
        merged,
        [
            f"{{folder}}/{XLSX}, row 2, column 'source': cells B2:B3 in worksheet 'kodning' are merged; unmerge them "
            "and write the value in every cell (a merged cell is empty in all rows but its first)"
        ],
    ),
    "inconsistent-actor-types": (
        inconsistent,
        [
            "{folder}: the reasoner refused the study: 'Exempelbolaget' is coded both as a private sector actor "
            "and as a public sector actor (from samv:MunicipalCompany), which are disjoint (samv:PrivateSectorActor "
            f"and samv:PublicSectorActor); 'Exempelbolaget' is coded as 'kommunalt bolag' ({CSV} row 3) and as "
            f"'företag' ({XLSX} row 2)"
        ],
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_a_refused_load_says_what_and_where_and_changes_nothing(
    loaded: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path, case: str
) -> None:
    store, _ = loaded
    folder = copy_study(tmp_path)
    change, expected = BAD_INPUTS[case]
    change(folder)
    before = dump(store)
    result = run("load", str(folder), "--store", str(store))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [line.format(folder=folder) for line in expected]
    count = len(expected)
    assert result.stderr == f"Error: {count} problem{'s' if count > 1 else ''} in {folder}; nothing was loaded\n"
    assert dump(store) == before


def test_validate_lists_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    folder = copy_study(tmp_path)
    replace_in(CSV, ",samverkansavtal,", ",samverkansavtall,")(folder)
    replace_in(CSV, ",AA\n", ",\n")(folder)
    replace_in("study.yaml", "licence: CC-BY-4.0", "licence: CC BY")(folder)
    store = tmp_path / "store"
    result = run("validate", str(folder), "--store", str(store))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{folder}/study.yaml: key 'licence': 'CC BY' is neither a URL nor an SPDX licence id (e.g. CC-BY-4.0)",
        f"{folder}/{CSV}, row 2, column 'form': 'samverkansavtall' is not a known collaboration form "
        "(samverkansform); closest: 'samverkansavtal', 'samverkansprojekt', 'samarbetsavtal'",
        f"{folder}/{CSV}, row 2, column 'coder': observation 'FG1-01': an observation needs its coder (who coded "
        "it: initials or name)",
    ]
    assert result.stderr == f"Error: 3 problems in {folder}; nothing was loaded\n"
    assert not store.exists()


def test_without_java_the_reasoner_says_so(tmp_path: Path) -> None:
    """No traceback: the message names what is missing and how to get it."""
    env = {**os.environ, "PATH": str(tmp_path)}  # no java on it
    result = run("validate", str(TEMPLATES), env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"Error: {TEMPLATES}: cannot be reasoned over: Reasoning needs Java (a JRE 11 or newer), but 'java' was "
        "not found"
    )
    assert "Traceback" not in result.stderr


def test_progress_shows_on_a_terminal(tmp_path: Path) -> None:
    """With stderr on a terminal, each step shows rows or triples, the rate and the time (a pseudo-terminal here)."""
    folder = copy_study(tmp_path)
    replace_in(CSV, ",samverkansavtal,", ",samverkansavtall,")(folder)
    leader, follower = pty.openpty()
    with os.fdopen(leader, "rb", buffering=0) as terminal:
        process = subprocess.Popen(
            samverkan("validate", str(folder)), stdout=subprocess.PIPE, stderr=follower, cwd=ROOT
        )
        os.close(follower)
        output = b""
        with contextlib.suppress(OSError):  # reading the terminal ends with EIO when the process has closed it
            while chunk := terminal.read(1024):
                output += chunk
        assert process.wait(timeout=300) == 1
        assert process.stdout is not None
        process.stdout.close()
    shown = re.sub(r"\x1b\[\?25[hl]", "", output.decode())  # the cursor hidden while a step is drawn
    lines = [re.split(r"\x1b\[[0-9]*K", line)[-1] for line in shown.replace("\r\n", "\n").split("\n")]
    assert re.fullmatch(r"reading coding sheets: 2 rows, [0-9,]+ rows/s, [0-9.]+ s", lines[0].strip())
    assert re.fullmatch(r"building the graph: 2 rows, [0-9,]+ rows/s, [0-9.]+ s", lines[1].strip())
    assert re.fullmatch(r"validating \(SHACL\): [0-9,]+ triples, [0-9,]+ triples/s, [0-9.]+ s", lines[2].strip())


def test_load_needs_a_store_that_outlives_it() -> None:
    result = run("load", str(TEMPLATES))
    assert result.returncode == 2
    assert "give --store PATH (an on-disk store) or --query-url and --update-url" in result.stderr


# --- export and import -----------------------------------------------------------------------------------------


def test_export_writes_the_store_or_one_graph(
    loaded: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    store, _ = loaded
    everything = dump(store)
    trig = run("export", "--store", str(store))
    assert trig.returncode == 0
    assert sorted(ox.parse(trig.stdout.encode(), format=ox.RdfFormat.TRIG), key=str) == sorted(everything, key=str)
    output = tmp_path / "study.nq"
    one = run("export", "--store", str(store), "--graph", study_graph(STUDY), "--format", "nquads", "-o", str(output))
    assert one.returncode == 0
    written = list(ox.parse(output.read_bytes(), format=ox.RdfFormat.N_QUADS))
    assert written == dump(store, study_graph(STUDY))
    assert one.stderr == f"{len(written):,} quads written to {output}\n"
    missing = run("export", "--store", str(store), "--graph", "http://example.org/none")
    assert missing.returncode == 1
    assert missing.stderr == "Error: the store has no graph <http://example.org/none> (or it is empty)\n"


FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".jsonld": ox.RdfFormat.JSON_LD,
    ".trig": ox.RdfFormat.TRIG,
    ".nq": ox.RdfFormat.N_QUADS,
}


def test_import_reads_every_rdf_format_and_describes_the_graph(tmp_path: Path) -> None:
    store = tmp_path / "store"
    triples = [
        ox.Triple(ox.NamedNode("http://example.org/a"), ox.NamedNode("http://example.org/p"), ox.Literal(f"v{n}"))
        for n in range(3)
    ]
    for suffix, rdf_format in FORMATS.items():
        data = (
            [ox.Quad(*t, ox.NamedNode("http://example.org/in-file")) for t in triples]
            if suffix
            in (
                ".trig",
                ".nq",
            )
            else triples
        )
        path = tmp_path / f"data{suffix}"
        ox.serialize(data, str(path), format=rdf_format)
        graph = f"http://example.org/imported{suffix}"
        result = run("import", str(path), "--graph", graph, "--store", str(store))
        assert result.returncode == 0, result.stderr
        assert {q.triple for q in dump(store, graph)} == set(triples)
        described = {
            (q.predicate.value, q.object.value) for q in dump(store, GRAPH_CATALOGUE) if q.subject.value == graph
        }
        assert ("http://rdfs.org/ns/void#triples", "3") in described
        assert ("http://purl.org/dc/terms/source", str(path)) in described
        assert any(p == "http://purl.org/dc/terms/modified" for p, _ in described)


def test_load_and_export_work_on_a_remote_sparql_server(tmp_path: Path) -> None:
    """The same commands against a real Oxigraph server (--query-url/--update-url); a refused load changes nothing."""
    server = start_oxigraph(tmp_path)
    try:
        remote = ["--query-url", server.url + "/query", "--update-url", server.url + "/update"]
        assert run("load", str(TEMPLATES), *remote).returncode == 0
        before = run("export", *remote, "--format", "nquads")
        assert before.returncode == 0
        exported = list(ox.parse(before.stdout.encode(), format=ox.RdfFormat.N_QUADS))
        graphs = {study_graph(STUDY), inferred_graph(STUDY), counts_graph(STUDY), GRAPH_CATALOGUE}
        assert {q.graph_name.value for q in exported} == graphs
        folder = copy_study(tmp_path)
        replace_in(CSV, ",samverkansavtal,", ",samverkansavtall,")(folder)
        assert run("load", str(folder), *remote).returncode == 1
        assert run("export", *remote, "--format", "nquads").stdout == before.stdout
    finally:
        server.stop()


def test_a_study_sent_through_the_graph_store_protocol_is_the_study_sent_by_updates(tmp_path: Path) -> None:
    """With --graph-store-url, the study's graph goes as the N-Triples pieces its reasoner's store was loaded from
    (in one request); it must land as the same triples as through SPARQL updates."""
    server = start_oxigraph(tmp_path)
    try:
        remote = ["--query-url", server.url + "/query", "--update-url", server.url + "/update"]
        graphs = [study_graph(STUDY), inferred_graph(STUDY), counts_graph(STUDY)]
        store = RemoteStore(server.url + "/query", server.url + "/update")
        exported = []
        for way in ([], ["--graph-store-url", server.url + "/store"]):
            result = run("load", str(TEMPLATES), *remote, *way)
            assert result.returncode == 0, result.stderr
            exported.append({graph: set(quads(store, graph)) for graph in graphs})
        assert exported[1] == exported[0]
        assert all(exported[0].values())
    finally:
        server.stop()


def test_import_goes_through_the_graph_store_protocol_and_a_failed_load_leaves_no_staged_graph(tmp_path: Path) -> None:
    """With --graph-store-url the triples go as N-Triples to a temporary graph that one update moves into place."""
    server = start_oxigraph(tmp_path)
    try:
        remote = ["--query-url", server.url + "/query", "--update-url", server.url + "/update"]
        path = tmp_path / "links.nt"
        path.write_text("".join(f'<http://example.org/s{i}> <http://example.org/p> "{i}" .\n' for i in range(5)))
        result = run(
            "import", str(path), "--graph", "http://example.org/g", *remote, "--graph-store-url", server.url + "/store"
        )
        assert result.returncode == 0, result.stderr
        store = RemoteStore(server.url + "/query", server.url + "/update", graph_store_url=server.url + "/store")
        assert store.named_graphs() == sorted([GRAPH_CATALOGUE, "http://example.org/g"])
        wrong = run("import", str(path), "--graph", "http://example.org/g", *remote, "--graph-store-url", server.url)
        assert wrong.returncode == 1
        assert f"Graph Store endpoint {server.url} answered" in wrong.stderr
        assert "nothing was loaded" in wrong.stderr
        with pytest.raises(StoreError):
            replace_graphs(store, {"http://example.org/g": []}, "DROP GRAPH <http://example.org/none>")
        with pytest.raises(StoreError):  # staged, then refused: the staged graph is dropped again
            replace_graphs(
                store,
                {
                    "http://example.org/g": [
                        ox.Triple(ox.NamedNode("http://a"), ox.NamedNode("http://b"), ox.Literal("c"))
                    ]
                },
                "DROP GRAPH <http://example.org/none>",
            )
        staging = "SELECT ?g WHERE { GRAPH ?g { } FILTER STRSTARTS(STR(?g), 'urn:samverkan:staging:') }"
        with pytest.raises(RuntimeError), store.replacing(["http://example.org/g"]) as replacement:
            replacement.put(
                "http://example.org/g", [ox.Triple(ox.NamedNode("http://a"), ox.NamedNode("http://b"), ox.Literal("d"))]
            )  # staged in the background, then the block fails
            deadline = time.monotonic() + 60
            while not list(store.query(staging, Dataset(union_default_graph=False))) and time.monotonic() < deadline:  # type: ignore[arg-type]
                time.sleep(0.05)
            assert list(store.query(staging, Dataset(union_default_graph=False))), (
                "nothing was staged while the block went on"
            )  # type: ignore[arg-type]
            raise RuntimeError("the reasoner refused the study")
        every = store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }")
        assert isinstance(every, ox.QuerySolutions)
        assert sorted(row["g"].value for row in every) == sorted([GRAPH_CATALOGUE, "http://example.org/g"])
        assert len(quads(store, "http://example.org/g")) == 5
        batched = RemoteStore(server.url + "/query", server.url + "/update")  # no Graph Store endpoint
        batched.STAGING_BATCH = 1
        node, p = ox.BlankNode(), ox.NamedNode("http://example.org/p")
        replace_graphs(
            batched, {"http://example.org/b": [ox.Triple(node, p, ox.Literal(str(i))) for i in range(3)]}, ""
        )
        subjects = batched.query("SELECT (COUNT(DISTINCT ?s) AS ?n) { GRAPH <http://example.org/b> { ?s ?p ?o } }")
        assert isinstance(subjects, ox.QuerySolutions)
        assert next(iter(subjects))["n"].value == "1"  # one blank node, though each batch would make its own
    finally:
        server.stop()
