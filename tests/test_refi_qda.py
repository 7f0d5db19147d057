"""Studies coded in NVivo, ATLAS.ti or MAXQDA: REFI-QDA projects (.qdpx) read into a study's graph like coding-sheet
rows, the study's own codebook kept as a SKOS scheme, and crosswalks (SSSOM) from its codes to ours.

Projects are built here per Project-mrt2019.xsd and validated against it (tests/refi_projects.py); reading runs
in-process with the SHACL shapes, loading through the real command line into an on-disk store."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import ROOT, samverkan
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDFS, SKOS
from refi_projects import CATEGORY, Code, Selection, Source, actor_type, concept, guid, kommun, project_xml, validate
from refi_projects import write_qdpx as write

from service.export import quads
from service.ingest.progress import Progress
from service.ingest.schema import Schema
from service.ingest.study import build_study
from service.ingest.studygraph import StudyGraph, StudyProblems
from service.ingest.validation import validate as shacl
from service.namespaces import ID, ONTOLOGY
from service.store import EmbeddedStore

SAMV = ONTOLOGY
STUDY = "min-studie"
TEMPLATE = ROOT / "data" / "templates" / "study.yaml"
SSSOM = "https://w3id.org/sssom/"
ANNA, BERTIL = guid("user anna"), guid("user bertil")
S1, S2, S3, S4 = (guid(f"selection {n}") for n in range(1, 5))
HEI_PARTNER, REGION_PARTNER = guid("partner mälarstrand"), guid("partner region")
COLLABORATION = guid("collaboration kompetensrådet")
TILLIT, RELATIONER, EKONOMI = guid("own tillit"), guid("own relationer"), guid("own ekonomi")
FG1_TEXT = (
    "Intervju FG1, våren 2011. 😀 Vi har ett samverkansavtal med högskolan om kompetensförsörjning. "
    "Vår styrgrupp möts varje månad och följer upp avtalet. Tilliten växer med åren."
)
C1_TEXT = "Fallet: I Eskilstuna är nätverket med regionen 🤝 viktigt för utbildningen och ekonomin."


def codebook() -> list[Code]:
    """Our categories with the codes these tests use (a project holds all of ours after importing the .qdc), the
    partners and collaboration coders add under them, and codes of the study's own."""
    return [
        Code(
            CATEGORY["form"],
            "samverkansformer",
            [Code(concept("samverkansform", s), s) for s in ("natverk", "samverkansavtal")],
        ),
        Code(CATEGORY["goal"], "mål", [Code(concept("mal", "kompetensforsorjning"), "kompetensförsörjning")]),
        Code(CATEGORY["tool"], "styrmedel", [Code(concept("styrmedel", "styrgrupp"), "styrgrupp")]),
        Code(CATEGORY["topic"], "sakområden", [Code(concept("sakomrade", "utbildning"), "utbildning")]),
        Code(
            CATEGORY["actor"],
            "aktörstyper",
            [
                Code(
                    actor_type("HigherEducationInstitution"),
                    "universitet eller högskola",
                    [Code(HEI_PARTNER, "Mälarstrands högskola (fiktiv)", description="Orgnr 202999-0005")],
                ),
                Code(actor_type("Region"), "region", [Code(REGION_PARTNER, "Region Västmanland")]),
            ],
        ),
        Code(CATEGORY["kommun"], "kommuner", [Code(kommun("1980"), "Västerås"), Code(kommun("0484"), "Eskilstuna")]),
        Code(CATEGORY["collaboration"], "samverkan", [Code(COLLABORATION, "Kompetensrådet (fiktivt exempel)")]),
        Code(TILLIT, "Tillit", [Code(RELATIONER, "Personliga relationer", description="Relationer mellan chefer.")]),
        Code(EKONOMI, "Ekonomi"),
    ]


def sources() -> list[Source]:
    named = [kommun("1980"), HEI_PARTNER, COLLABORATION]
    return [
        Source(
            "FG1",
            FG1_TEXT,
            [
                Selection(
                    S1,
                    "Vi har ett samverkansavtal med högskolan om kompetensförsörjning.",
                    [*named, concept("samverkansform", "samverkansavtal"), concept("mal", "kompetensforsorjning")],
                    ANNA,
                ),
                Selection(
                    S2,
                    "Vår styrgrupp möts varje månad och följer upp avtalet.",
                    [*named, concept("styrmedel", "styrgrupp"), RELATIONER],
                    BERTIL,
                ),
            ],
        ),
        Source(
            "Intervju 2",
            C1_TEXT,
            [
                Selection(
                    S3,
                    "nätverket med regionen 🤝 viktigt för utbildningen och ekonomin.",
                    [kommun("0484"), REGION_PARTNER, concept("samverkansform", "natverk"), EKONOMI],
                    ANNA,
                )
            ],
            variables={"source": "C1"},
        ),
    ]


CROSSWALK = """# curie_map:
#   samv_goal: https://w3id.org/samverkan/id/concept/mal/
#   samv_topic: https://w3id.org/samverkan/id/concept/sakomrade/
# mapping_set_id: https://example.org/min-studie/crosswalk
# license: https://creativecommons.org/licenses/by/4.0/
subject_id\tsubject_label\tpredicate_id\tobject_id\tmapping_justification\tauthor_id\tconfidence
urn:uuid:{ekonomi}\tEkonomi\tskos:broadMatch\tsamv_goal:effektivitet\tsemapv:ManualMappingCuration\tAnna Andersson\t0.8
\tTillit\tskos:relatedMatch\tsamv_goal:kvalitet\tsemapv:ManualMappingCuration\tAnna Andersson\t
"""


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema(ROOT)


MakeStudy = Callable[..., Path]


@pytest.fixture
def study(tmp_path: Path) -> MakeStudy:
    """A study folder: the template's study.yaml, a project from these codes and sources, and a crosswalk."""

    def make(
        codes: list[Code] | None = None,
        texts: list[Source] | None = None,
        crosswalk: str | None = CROSSWALK,
        nvivo: bool = False,
    ) -> Path:
        folder = tmp_path / "studie"
        folder.mkdir(exist_ok=True)
        shutil.copy(TEMPLATE, folder / "study.yaml")
        texts = sources() if texts is None else texts
        xml = project_xml({ANNA: "Anna Andersson", BERTIL: "Bertil Berg"}, codes or codebook(), texts, nvivo=nvivo)
        validate(xml)
        write(folder / "kodning.qdpx", xml, texts)
        if crosswalk is not None:
            (folder / "kodbok.sssom.tsv").write_text(crosswalk.format(ekonomi=EKONOMI.lower()), encoding="utf-8")
        return folder

    return make


def built(folder: Path, schema: Schema) -> StudyGraph:
    return build_study(folder, schema, Progress())


def problems(folder: Path, schema: Schema) -> list[str]:
    result = built(folder, schema)
    return [str(p) for p in StudyProblems(folder, result.problems).problems]


def obs(selection: str) -> URIRef:
    return URIRef(f"{ID}observation/{STUDY}/{selection.lower()}")


def own(code: str) -> URIRef:
    return URIRef(f"{ID}concept/study/{STUDY}/{code.lower()}")


def sv(iri: str) -> URIRef:
    return URIRef(ID + iri)


# --- Projects in -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nvivo", [False, True], ids=["code points", "NVivo UTF-16"])
def test_each_selection_is_an_observation_like_a_sheet_row(study: MakeStudy, schema: Schema, nvivo: bool) -> None:
    result = built(study(nvivo=nvivo), schema)
    assert result.problems == []
    g = result.graph
    assert shacl(g, schema.beside(g.all_nodes()), schema.shapes, result.origins, Path()) == []
    s1, s2, s3 = obs(S1), obs(S2), obs(S3)
    assert {o for o in g.subjects(URIRef(SAMV + "inStudy"), None)} == {s1, s2, s3}
    # The quotes are cut by code points, the emoji before them counting as one (NVivo's two are detected).
    assert g.value(s1, URIRef(SAMV + "quote")) == Literal(
        "Vi har ett samverkansavtal med högskolan om kompetensförsörjning.", lang="sv"
    )
    assert (
        str(g.value(s3, URIRef(SAMV + "quote"))) == "nätverket med regionen 🤝 viktigt för utbildningen och ekonomin."
    )
    start = C1_TEXT.index("nätverket")
    assert g.value(s3, URIRef(SAMV + "sourceLocation")) == Literal(f"Intervju 2: {start}\u2013{len(C1_TEXT)}")
    coders = {str(g.value(g.value(o, URIRef(SAMV + "coder")), RDFS.label)) for o in (s1, s2)}
    assert coders == {"Anna Andersson", "Bertil Berg"}
    assert g.value(s1, PROV.wasGeneratedBy) == sv(f"focusgroup/{STUDY}/fg1")
    assert g.value(s3, PROV.wasGeneratedBy) == sv(f"case/{STUDY}/c1")
    # S1 and S2 carry the collaboration code: one collaboration, with the codes of both.
    named = g.value(s1, URIRef(SAMV + "describes"))
    assert named == g.value(s2, URIRef(SAMV + "describes")) != g.value(s3, URIRef(SAMV + "describes"))
    assert str(g.value(named, RDFS.label)) == "Kompetensrådet (fiktivt exempel)"
    participants = set(g.objects(named, URIRef(SAMV + "participant")))
    assert participants == {sv("kommun/1980"), sv("org/202999-0005")}
    assert set(g.objects(named, URIRef(SAMV + "governanceTool"))) == {sv("concept/styrmedel/styrgrupp")}
    assert set(g.objects(named, URIRef(SAMV + "form"))) == {sv("concept/samverkansform/samverkansavtal")}
    other = g.value(s3, URIRef(SAMV + "describes"))
    assert set(g.objects(other, URIRef(SAMV + "participant"))) == {sv("kommun/0484"), sv("org/region-vastmanland")}


def test_the_own_codebook_is_a_scheme_and_observations_keep_its_codes(study: MakeStudy, schema: Schema) -> None:
    g = built(study(crosswalk=None), schema).graph
    scheme = sv(f"scheme/study/{STUDY}")
    assert g.value(sv(f"study/{STUDY}"), URIRef(SAMV + "codebook")) == scheme
    assert set(g.subjects(SKOS.inScheme, scheme)) == {own(TILLIT), own(RELATIONER), own(EKONOMI)}
    assert g.value(own(RELATIONER), SKOS.broader) == own(TILLIT)
    assert g.value(own(RELATIONER), SKOS.notation) == Literal(RELATIONER)
    assert g.value(own(RELATIONER), SKOS.definition) == Literal("Relationer mellan chefer.", lang="sv")
    assert (own(TILLIT), SKOS.topConceptOf, scheme) in g
    study_code = URIRef(SAMV + "studyCode")
    assert set(g.objects(obs(S2), study_code)) == {own(RELATIONER)}
    assert set(g.objects(obs(S3), study_code)) == {own(EKONOMI)}
    assert set(g.objects(g.value(obs(S2), URIRef(SAMV + "describes")), study_code)) == {own(RELATIONER)}
    # Partners and the named collaboration are actors and a collaboration, not codes of the study's own.
    assert not set(g.subjects(SKOS.notation, Literal(HEI_PARTNER))) | set(
        g.subjects(SKOS.notation, Literal(COLLABORATION))
    )


def test_a_crosswalk_is_stored_with_its_provenance(study: MakeStudy, schema: Schema) -> None:
    g = built(study(), schema).graph
    effektivitet, kvalitet = sv("concept/mal/effektivitet"), sv("concept/mal/kvalitet")
    assert (own(EKONOMI), SKOS.broadMatch, effektivitet) in g
    assert (own(TILLIT), SKOS.relatedMatch, kvalitet) in g
    mapping = g.value(None, URIRef(SSSOM + "subject_id"), own(EKONOMI))
    assert g.value(mapping, URIRef(SSSOM + "predicate_id")) == SKOS.broadMatch
    assert g.value(mapping, URIRef(SSSOM + "object_id")) == effektivitet
    assert g.value(mapping, URIRef(SSSOM + "mapping_justification")) == URIRef(
        "https://w3id.org/semapv/vocab/ManualMappingCuration"
    )
    assert g.value(mapping, URIRef(SSSOM + "author_id")) == Literal("Anna Andersson")
    mapping_set = g.value(mapping, DCTERMS.isPartOf)
    assert g.value(mapping_set, DCTERMS.source) == Literal("kodbok.sssom.tsv")


def test_an_all_own_codebook_loads_through_a_crosswalk_for_municipality_and_actor_types(
    study: MakeStudy, schema: Schema
) -> None:
    kommuner, orter, hogskolor, partner = guid("own kommuner"), guid("own vasteras"), guid("own hogskolor"), guid("p")
    codes = [
        Code(kommuner, "Kommunerna", [Code(orter, "Västerås i studien")]),
        Code(hogskolor, "Lärosäten", [Code(partner, "Mälarstrands högskola (fiktiv)")]),
        Code(EKONOMI, "Ekonomi"),
    ]
    texts = [Source("FG1", FG1_TEXT, [Selection(S1, "Vi har ett samverkansavtal", [orter, partner, EKONOMI], ANNA)])]
    crosswalk = (
        "# curie_map:\n#   kommun: https://w3id.org/samverkan/id/kommun/\n"
        "#   samv: https://w3id.org/samverkan/ontology#\n#   goal: https://w3id.org/samverkan/id/concept/mal/\n"
        "subject_label\tpredicate_id\tobject_id\tmapping_justification\tauthor_id\n"
        "Västerås i studien\tskos:exactMatch\tkommun:1980\tsemapv:ManualMappingCuration\tAA\n"
        "Lärosäten\tskos:exactMatch\tsamv:HigherEducationInstitution\tsemapv:ManualMappingCuration\tAA\n"
        "Ekonomi\tskos:closeMatch\tgoal:effektivitet\tsemapv:ManualMappingCuration\tAA\n"
    )
    result = built(study(codes, texts, crosswalk), schema)
    assert [str(p) for p in result.problems] == []
    collaboration = result.graph.value(obs(S1), URIRef(SAMV + "describes"))
    participants = set(result.graph.objects(collaboration, URIRef(SAMV + "participant")))
    assert participants == {sv("kommun/1980"), sv("org/malarstrands-hogskola-fiktiv")}
    assert set(result.graph.subjects(SKOS.inScheme, sv(f"scheme/study/{STUDY}"))) == {
        own(kommuner),
        own(orter),
        own(hogskolor),
        own(EKONOMI),
    }


def test_real_exports_with_colours_sets_and_no_sources_read(tmp_path: Path, schema: Schema) -> None:
    """MAXQDA's project (307 codes in two levels, colours, sets, sources without selections) and ATLAS.ti's (a
    codebook and no sources): every code is kept in the study's scheme; with no selection, there is no
    municipality to complain about, but also no observation."""
    samples = Path(os.environ.get("SAMVERKAN_SHARED", ROOT.parent / "shared")) / "refi-qda" / "samples"
    if not samples.is_dir():
        pytest.skip(f"the real exports are not here: {samples} (CI has ../shared)")
    folder = tmp_path / "studie"
    folder.mkdir()
    shutil.copy(TEMPLATE, folder / "study.yaml")
    shutil.copy(samples / "atlasti23-project.qdpx", folder / "atlas.qdpx")
    with zipfile.ZipFile(folder / "maxqda.qdpx", "w") as archive:
        archive.write(samples / "maxqda24-codebook-project.qde", "project.qde")
    result = built(folder, schema)
    scheme = sv(f"scheme/study/{STUDY}")
    assert len(set(result.graph.subjects(SKOS.inScheme, scheme))) == 307 + 3
    assert not list(result.graph.subjects(URIRef(SAMV + "inStudy"), None))


# --- Every problem at once, naming file, selection and what to do -------------------------------------------------


def with_codes(selection: str, codes: list[str]) -> list[Source]:
    found = sources()
    for source in found:
        for s in source.selections:
            if s.guid == selection:
                s.codes = codes
    return found


def test_selection_problems_name_file_selection_and_first_words(study: MakeStudy, schema: Schema) -> None:
    dangling = guid("not in the codebook")
    texts = with_codes(S1, [kommun("1980"), kommun("0484"), HEI_PARTNER])
    texts[0].selections[1].codes = [HEI_PARTNER, dangling]
    texts[1].name = "Intervju 3"
    texts[1].variables = {}
    found = problems(study(texts=texts), schema)
    path = "studie/kodning.qdpx"
    assert any(
        path in p
        and f"selection {S1}" in p
        and '("Vi har ett samverkansavtal med högskolan …")' in p
        and "2 municipalities ('1980', '0484')" in p
        for p in found
    ), found
    assert any(f"selection {S2}" in p and "no municipality" in p for p in found), found
    assert any(f"selection {S2}" in p and f"points to code {dangling}" in p for p in found), found
    assert any(
        f"selection {S3}" in p and "'Intervju 3' is not a focus group or case declared in study.yaml" in p
        for p in found
    ), found


def test_positions_outside_the_text_are_a_problem(study: MakeStudy, schema: Schema, tmp_path: Path) -> None:
    folder = study()
    with zipfile.ZipFile(folder / "kodning.qdpx") as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    short = next(name for name in files if name.startswith("Sources/") and files[name].startswith(b"Fallet"))
    files[short] = files[short][:20]
    with zipfile.ZipFile(folder / "kodning.qdpx", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    found = problems(folder, schema)
    assert any(f"selection {S3}" in p and "outside the text of source 'Intervju 2'" in p for p in found), found


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not a zip", "is not a REFI-QDA project (not a zip archive)"),
        ("xml", "project.qde is not valid XML (line 1"),
    ],
)
def test_files_that_are_no_projects(study: MakeStudy, schema: Schema, content: bytes | str, expected: str) -> None:
    folder = study()
    if content == "xml":
        with zipfile.ZipFile(folder / "kodning.qdpx", "w") as archive:
            archive.writestr("project.qde", "<Project")
    else:
        (folder / "kodning.qdpx").write_bytes(content)  # type: ignore[arg-type]
    assert any("kodning.qdpx" in p and expected in p for p in problems(folder, schema))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("urn:uuid:00000000-0000-0000-0000-000000000000\t\tskos:exactMatch\tsamv_goal:kvalitet", "subject_id"),
        ("\tEkonomi\tskos:exactMatch\tsamv_goal:finns-inte", "'samv_goal:finns-inte' is not one of our concepts"),
        ("\tEkonomi\tskos:exactMatch\tokand:kvalitet", "declare its prefix in the # header's curie_map"),
        ("\tEkonomi\towl:sameAs\tsamv_goal:kvalitet", "is not a mapping predicate"),
    ],
)
def test_crosswalk_rows_that_name_nothing(study: MakeStudy, schema: Schema, row: str, expected: str) -> None:
    crosswalk = CROSSWALK + row + "\tsemapv:ManualMappingCuration\tAA\t\n"
    found = problems(study(crosswalk=crosswalk), schema)
    assert any("kodbok.sssom.tsv, row 9" in p and expected in p for p in found), found


# --- Loading: atomic, idempotent, nothing stored on error --------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(samverkan(*args), capture_output=True, text=True, timeout=600, cwd=ROOT)


def test_load_is_idempotent_and_a_broken_project_changes_nothing(study: MakeStudy, tmp_path: Path) -> None:
    store = tmp_path / "store"
    folder = study()
    first = run("load", str(folder), "--store", str(store))
    assert first.returncode == 0, first.stdout + first.stderr
    before = sorted(map(str, quads(EmbeddedStore(str(store)), f"https://w3id.org/samverkan/graph/study/{STUDY}")))
    assert run("load", str(folder), "--store", str(store)).returncode == 0
    again = sorted(map(str, quads(EmbeddedStore(str(store)), f"https://w3id.org/samverkan/graph/study/{STUDY}")))
    assert again == before
    shutil.rmtree(folder)
    broken = study(texts=with_codes(S3, [REGION_PARTNER]))
    refused = run("load", str(broken), "--store", str(store))
    assert refused.returncode != 0
    assert f"selection {S3}" in refused.stdout and "no municipality" in refused.stdout
    assert "nothing was loaded" in refused.stderr
    after = sorted(map(str, quads(EmbeddedStore(str(store)), f"https://w3id.org/samverkan/graph/study/{STUDY}")))
    assert after == before


# --- Our codebook out, coverage ------------------------------------------------------------------------------------


def test_our_codebook_is_the_same_bytes_every_time_with_guids_from_iris(schema: Schema) -> None:
    first, again = schema.codebook.qdc("sv"), Schema(ROOT).codebook.qdc("sv")
    assert first == again
    root = ET.fromstring(first)
    ns = {"c": "urn:QDA-XML:codebook:1.0"}
    top = root.findall("c:Codes/c:Code", ns)
    assert [c.get("guid") for c in top] == [
        CATEGORY[k] for k in ("form", "goal", "tool", "topic", "actor", "kommun", "collaboration")
    ]
    municipalities = top[5].findall("c:Code", ns)
    assert len(municipalities) == 290
    assert next(c.get("name") for c in municipalities if c.get("guid") == kommun("1980")) == "Västerås"
    assert len(top[4].findall("c:Code", ns)) == 9
    assert top[6].findall("c:Code", ns) == []
    english = ET.fromstring(schema.codebook.qdc("en")).find("c:Codes/c:Code", ns)
    assert english is not None and english.get("name") == "forms of collaboration"


def test_coverage_counts_direct_mapped_and_unmapped(study: MakeStudy, schema: Schema) -> None:
    g = built(study(), schema).graph + schema.terms
    store = ox.Store()
    store.load(g.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    text = (ROOT / "queries" / "coding-coverage.rq").read_text(encoding="utf-8")
    rows = {
        (r["dimension"].value, r["basis"].value, r["codes"].value if r["codes"] else ""): int(r["observations"].value)
        for r in store.query(text)  # type: ignore[union-attr]
    }
    assert rows[("goal", "direct", "")] == 1  # S1: kompetensförsörjning
    assert rows[("goal", "broadMatch", "Ekonomi")] == 1  # S3, counted under effektivitet
    assert rows[("goal", "none", "")] == 1  # S2 has no goal, and no own code mapped to one
    assert rows[("form", "none", "")] == 1  # S2
    assert rows[("", "unmapped", "Personliga relationer")] == 1
    assert ("goal", "relatedMatch", "Tillit") not in rows  # Tillit maps, but no observation carries it
