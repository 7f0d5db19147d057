"""A loaded study out as a REFI-QDA project (`samverkan export study`), valid against Project-mrt2019.xsd, and in
again to the same graph.

What differs after the round trip, and why: the study's own codebook names the project files it came from
(`dcterms:source` of the scheme `id/scheme/study/{id}`), and the exported project is another file. Everything else
is the same triple for triple: the source texts are rebuilt with the quotes at their recorded positions, so each
quote and location comes back; the GUIDs of selections and own codes are kept, so every IRI comes back.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, samverkan
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS, SKOS
from refi_projects import Code, Selection, actor_type, concept, guid, kommun, validate
from test_refi_qda import ANNA, BERTIL, EKONOMI, STUDY, MakeStudy, codebook, sources
from test_refi_qda import study as study

from service.export import quads
from service.ingest.progress import Progress
from service.ingest.refiqda_export import export_project
from service.ingest.schema import Schema
from service.ingest.study import build_study
from service.namespaces import ID, ONTOLOGY
from service.store import EmbeddedStore

SAMV = ONTOLOGY
GRAPH = f"https://w3id.org/samverkan/graph/study/{STUDY}"
SCHEME = URIRef(f"{ID}scheme/study/{STUDY}")
EXAMPLE = ROOT / "data" / "examples" / "fiktiv-fokusgrupper-2011"


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema(ROOT)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(samverkan(*args), capture_output=True, text=True, timeout=600, cwd=ROOT)


def project_xml(project: Path | bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(project) if isinstance(project, bytes) else project) as archive:
        return archive.read("project.qde")


def beside(folder: Path, target: Path, project: bytes) -> Path:
    """A study folder like `folder` (its study.yaml and crosswalks) holding `project` instead of its projects."""
    target.mkdir()
    for path in folder.iterdir():
        if path.name == "study.yaml" or path.name.endswith(".sssom.tsv"):
            shutil.copy(path, target / path.name)
    (target / "export.qdpx").write_bytes(project)
    return target


def without_sources(graph: Graph, scheme: URIRef = SCHEME) -> tuple[set[tuple[object, ...]], set[str]]:
    """The triples but the own codebook's source files, and those file names."""
    files = {str(o) for o in graph.objects(scheme, DCTERMS.source)}
    return {t for t in graph if t[:2] != (scheme, DCTERMS.source)}, files


def test_a_loaded_project_exports_valid_and_loads_again_to_the_same_graph(study: MakeStudy, tmp_path: Path) -> None:
    folder = study()
    first, second = tmp_path / "first", tmp_path / "second"
    loaded = run("load", str(folder), "--store", str(first))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    exported = run("export", "study", STUDY, str(tmp_path / "out.qdpx"), "--store", str(first))
    assert exported.returncode == 0, exported.stderr
    assert "3 coded observations written" in exported.stderr
    validate(project_xml(tmp_path / "out.qdpx"))
    again = beside(folder, tmp_path / "again", (tmp_path / "out.qdpx").read_bytes())
    reloaded = run("load", str(again), "--store", str(second))
    assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr

    def graph(store: Path, name: str) -> set[str]:
        return {str(q) for q in quads(EmbeddedStore(str(store)), name)}

    before, after = graph(first, GRAPH), graph(second, GRAPH)
    source = f"<{SCHEME}> <{DCTERMS.source}>"
    assert before - after == {f'{source} "kodning.qdpx" <{GRAPH}>'}
    assert after - before == {f'{source} "export.qdpx" <{GRAPH}>'}
    assert graph(first, GRAPH + "/inferred") == graph(second, GRAPH + "/inferred")


def test_exporting_needs_a_loaded_study(tmp_path: Path) -> None:
    refused = run("export", "study", "finns-inte", str(tmp_path / "out.qdpx"), "--store", str(tmp_path / "none"))
    assert refused.returncode != 0 and "there is no store at" in refused.stderr
    assert not (tmp_path / "out.qdpx").exists()


def test_names_spellings_and_nvivo_positions_come_back(study: MakeStudy, schema: Schema, tmp_path: Path) -> None:
    """A municipality coded by another name than ours, a municipality as partner, a partner under two spellings,
    a collaboration of one selection (named after its actors), positions counted as NVivo counts them."""
    named, spelled, other = guid("kommun by name"), guid("partner spelling 1"), guid("partner spelling 2")
    koping = guid("partner köping")
    codes = codebook()
    codes[5].children.append(Code(named, "Västerås stad"))
    codes[4].children.append(Code(actor_type("Municipality"), "kommun", [Code(koping, "Köping")]))
    codes[4].children.append(
        Code(
            actor_type("Company"),
            "företag",
            [Code(spelled, "Exempelbolaget Norr AB"), Code(other, "EXEMPELBOLAGET NORR")],
        )
    )
    texts = sources()
    texts[0].selections.append(
        Selection(
            guid("selection 5"),
            "Tilliten växer med åren.",
            [named, koping, spelled, concept("samverkansform", "natverk"), EKONOMI],
            BERTIL,
        )
    )
    texts[1].selections[0].codes += [other]
    texts[1].selections.append(
        Selection(
            guid("selection 6"), "I Eskilstuna", [kommun("0484"), spelled, concept("samverkansform", "natverk")], ANNA
        )
    )
    folder = study(codes, texts, nvivo=True)
    first = build_study(folder, schema, Progress())
    assert [str(p) for p in first.problems] == []
    company = URIRef(ID + "org/exempelbolaget-norr")
    assert first.graph.value(company, SKOS.altLabel) == Literal("EXEMPELBOLAGET NORR", lang="sv")

    project = export_project(first.graph, STUDY, schema.codebook, schema.resolver)
    assert project.notes == [] and project.observations == 5
    validate(project_xml(project.data))
    second = build_study(beside(folder, tmp_path / "again", project.data), schema, Progress())
    assert [str(p) for p in second.problems] == []
    (kept, files), (back, new_files) = without_sources(first.graph), without_sources(second.graph)
    assert kept == back
    assert (files, new_files) == ({"kodning.qdpx"}, {"export.qdpx"})
    labels = {str(o) for o in second.graph.objects(None, RDFS.label) if "Västerås stad" in str(o)}
    assert labels == {"Västerås stad \u2013 Köping, Exempelbolaget Norr AB"}


def test_a_coding_sheet_study_exports_one_text_per_focus_group(schema: Schema, tmp_path: Path) -> None:
    """No positions: each focus group's quotes are joined into its text, the sheet's location kept in the
    selection's description; what REFI-QDA has no place for (lead actors, periods) is named."""
    first = build_study(EXAMPLE, schema, Progress())
    project = export_project(first.graph, first.study_id, schema.codebook, schema.resolver)
    validate(project_xml(project.data))
    assert project.observations == 44
    assert any("lead actors" in note for note in project.notes) and any("periods" in note for note in project.notes)
    with zipfile.ZipFile(io.BytesIO(project.data)) as archive:
        texts = [archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("Sources/")]
    assert len(texts) == 6  # FG1 … FG6
    assert "00:04:12" in project_xml(project.data).decode("utf-8")
    folder = tmp_path / "again"
    folder.mkdir()
    shutil.copy(EXAMPLE / "study.yaml", folder)
    (folder / "export.qdpx").write_bytes(project.data)
    second = build_study(folder, schema, Progress())
    assert [str(p) for p in second.problems] == []

    def observed(graph: Graph) -> Counter[tuple[str, frozenset[str], frozenset[str]]]:
        found: Counter[tuple[str, frozenset[str], frozenset[str]]] = Counter()
        for o in graph.subjects(URIRef(SAMV + "inStudy"), None):
            collaboration = graph.value(o, URIRef(SAMV + "describes"))
            forms = frozenset(str(f) for f in graph.objects(o, URIRef(SAMV + "form")))
            participants = frozenset(str(p) for p in graph.objects(collaboration, URIRef(SAMV + "participant")))
            found[str(graph.value(o, URIRef(SAMV + "quote"))), forms, participants] += 1
        return found

    assert observed(second.graph) == observed(first.graph)
    named = {str(c) for c in first.graph.subjects(RDFS.label, None) if "/collaboration/" in str(c)}
    assert {c for c in named if "/observation/" not in c} <= {str(c) for c in second.graph.subjects(RDFS.label, None)}


def test_the_refi_qda_example_is_valid_and_comes_back_from_its_export(schema: Schema, tmp_path: Path) -> None:
    folder = ROOT / "data" / "examples" / "fiktiv-intervjuer-omsorg-2023"
    validate(project_xml(folder / "fiktiv-projekt.qdpx"))
    first = build_study(folder, schema, Progress())
    assert [str(p) for p in first.problems] == []
    project = export_project(first.graph, first.study_id, schema.codebook, schema.resolver)
    validate(project_xml(project.data))
    second = build_study(beside(folder, tmp_path / "again", project.data), schema, Progress())
    assert [str(p) for p in second.problems] == []
    scheme = URIRef(f"{ID}scheme/study/{first.study_id}")
    (kept, files), (back, new_files) = without_sources(first.graph, scheme), without_sources(second.graph, scheme)
    assert kept == back and (files, new_files) == ({"fiktiv-projekt.qdpx"}, {"export.qdpx"})
