"""Reading a study folder in-process: coding sheets, resolution against the reference list and vocabularies,
matching partners into actors, and the SHACL shapes. No reasoner runs here (the CLI tests do that)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from conftest import ROOT
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from service.ingest import DataFileError
from service.ingest.period import Period
from service.ingest.progress import Progress
from service.ingest.resolve import Unresolved
from service.ingest.schema import Schema
from service.ingest.sheets import read_sheets
from service.ingest.study import _new_problems, build_study, prepare_study
from service.ingest.studygraph import StudyGraph, StudyProblems
from service.ingest.validation import Origin, validate
from service.namespaces import ID, ONTOLOGY

TEMPLATES = ROOT / "data" / "templates"
HEADER = (
    "observation,source,municipality,collaboration,partner,partner_type,partner_orgnr,form,topic,goals,"
    "governance_tools,lead_actor,period,quote,location,coder"
)
SAMV = ONTOLOGY


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema(ROOT)


@pytest.fixture
def study(tmp_path: Path) -> Callable[..., Path]:
    """A study folder from the template's study.yaml and the given sheet rows (CSV text after the header)."""

    def make(*rows: str, header: str = HEADER, name: str = "kodning.csv") -> Path:
        folder = tmp_path / "studie"
        folder.mkdir(exist_ok=True)
        shutil.copy(TEMPLATES / "study.yaml", folder / "study.yaml")
        (folder / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        return folder

    return make


def built(folder: Path, schema: Schema) -> StudyGraph:
    return build_study(folder, schema, Progress())


def messages(result: StudyGraph, folder: Path) -> list[str]:
    """The problems in the order a researcher sees them: by file, row and column."""
    return [str(p) for p in StudyProblems(folder, result.problems).problems]


# --- Periods ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2019", "2019", "2019"),
        ("2019-2022", "2019", "2022"),
        ("2019 \u2013 2022", "2019", "2022"),
        ("2019-", "2019", None),
        ("2019-03-01/2020-06-30", "2019-03-01", "2020-06-30"),
        ("2019-03/..", "2019-03", None),
        ("2011-03", "2011-03", "2011-03"),
    ],
)
def test_periods(text: str, start: str | None, end: str | None) -> None:
    assert Period.parse(text) == Period(start, end)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("våren 2011", "'våren 2011' is not a period; write a year (2019), two years (2019-2022) or an ISO interval"),
        ("2022-2019", "the period starts (2022) after it ends (2019)"),
        ("2019-02-30", "'2019-02-30' is not a date in the calendar"),
    ],
)
def test_bad_periods(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Period.parse(text)
    assert str(raised.value).startswith(message)


# --- Resolution ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("Västerås", "1980"),
        ("västerås stad", "1980"),
        ("Västerås kommun", "1980"),
        ("Eskilstuna kommun", "0484"),
        ("Gotland", "0980"),
        ("Region Gotland", "0980"),
        ("Gotlands kommun", "0980"),
        ("Stockholms stad", "0180"),
        ("  Upplands   Väsby ", "0114"),
        ("0484", "0484"),
        ("484", "0484"),
    ],
)
def test_municipalities_resolve_by_name_official_name_or_code(schema: Schema, value: str, code: str) -> None:
    assert schema.resolver.municipality(value) == URIRef(f"{ID}kommun/{code}")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "Västeråås",
            "'Västeråås' is not a known municipality in the reference list (data/reference/kommuner.csv); "
            "closest: 'Västerås', 'Västerås stad', 'Västervik'",
        ),
        ("9999", "'9999' is not a kommunkod in the reference list (data/reference/kommuner.csv)"),
    ],
)
def test_unknown_municipality_names_the_closest(schema: Schema, value: str, message: str) -> None:
    with pytest.raises(Unresolved) as raised:
        schema.resolver.municipality(value)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("scheme", "value", "slug"),
    [
        ("samverkansform", "Samverkansavtal", "samverkansavtal"),
        ("samverkansform", "IOP", "ideburet-offentligt-partnerskap"),
        ("samverkansform", "public procurement", "upphandling"),
        ("styrmedel", "Steering group", "styrgrupp"),
        ("styrmedel", "samverkansavtal", "avtal"),  # an altLabel in this scheme, a form in the other
        ("mal", "hantera kriser", "hantera-kriser"),
        ("sakomrade", "forskning", "forskning-och-innovation"),
    ],
)
def test_vocabulary_values_resolve_by_any_label_in_their_scheme(
    schema: Schema, scheme: str, value: str, slug: str
) -> None:
    assert schema.resolver.concept(scheme, value) == URIRef(f"{ID}concept/{scheme}/{slug}")


@pytest.mark.parametrize(
    ("value", "cls"),
    [
        ("kommun", "Municipality"),
        ("Landsting", "Region"),
        ("state agency", "StateAgency"),
        ("högskola", "HigherEducationInstitution"),
        ("företag", "Company"),
        ("kommunalt bolag", "MunicipalCompany"),
        ("idéburen organisation", "NonProfitOrganisation"),
        ("Kommunalförbund", "Kommunalforbund"),
        ("joint committee", "GemensamNamnd"),
    ],
)
def test_actor_types_resolve_against_the_ontology_labels(schema: Schema, value: str, cls: str) -> None:
    assert schema.resolver.actor_type(value) == URIRef(SAMV + cls)


# --- Coding sheets -----------------------------------------------------------------------------------------------


def test_semicolons_bom_and_notes_columns(tmp_path: Path) -> None:
    sheet = tmp_path / "excel.csv"
    sheet.write_bytes("\ufeffObservation;Source;# anteckning\r\nFG1-01;FG1;fri text\r\n;;\r\n".encode())
    contents = read_sheets([sheet])
    assert [p.message for p in contents.problems] == [
        "missing column(s) municipality, partner, partner_type, form, coder; required are observation, source, "
        "municipality, partner, partner_type, form, coder"
    ]


def test_xlsx_numbers_and_dates_read_as_a_csv_would_hold_them(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append(["FG1-01", "FG1", 484, None, "A AB", "företag", None, "projekt", None, None, None, None, 2019.0])
    workbook.create_sheet("anteckningar").append(["not read"])
    workbook.save(tmp_path / "kodning.xlsx")
    contents = read_sheets([tmp_path / "kodning.xlsx"])
    assert contents.problems == []
    assert [(row.number, row.get("municipality"), row.get("period")) for row in contents.rows] == [(2, "484", "2019")]


def test_the_template_workbook_has_the_columns_of_the_csv_template() -> None:
    workbook = openpyxl.load_workbook(TEMPLATES / "coding-sheet.xlsx")
    header = [cell.value for cell in workbook.worksheets[0][1]]
    assert ",".join(str(h) for h in header) == (TEMPLATES / "coding-sheet.csv").read_text().splitlines()[0] == HEADER


# --- Building: actors, collaborations, determinism ----------------------------------------------------------


ROW = "FG1-{n},FG1,{municipality},{collaboration},{partner},{type},{orgnr},projekt,,,,{lead},{period},Citat {n},,AA"


def row(n: int, **cells: str) -> str:
    values = {"municipality": "Västerås", "collaboration": "", "partner": "Exempelbolaget AB", "type": "företag"}
    values |= {"orgnr": "", "lead": "", "period": ""} | cells
    return ROW.format(n=f"{n:02d}", **values)


def test_partners_match_by_orgnr_then_normalised_name(study: Callable[..., Path], schema: Schema) -> None:
    folder = study(
        row(1, partner="Exempelbolaget Norr AB", orgnr="559999-0115"),
        row(2, partner="Exempelbolaget i Norr Aktiebolag", orgnr="5599990115"),
        row(3, partner="EXEMPELBOLAGET  NORR"),
        row(4, partner="Föreningen Grannstöd", type="ideell organisation"),
        row(5, partner="föreningen grannstöd", type="ideell organisation"),
    )
    result = built(folder, schema)
    assert result.problems == []
    g = result.graph
    company = URIRef(f"{ID}org/559999-0115")
    association = URIRef(f"{ID}org/foreningen-grannstod")
    assert g.value(company, RDFS.label) == Literal("Exempelbolaget Norr AB", lang="sv")
    assert set(g.objects(company, SKOS.altLabel)) == {
        Literal("Exempelbolaget i Norr Aktiebolag", lang="sv"),
        Literal("EXEMPELBOLAGET  NORR", lang="sv"),
    }
    assert set(g.objects(company, RDF.type)) >= {URIRef(SAMV + "Company"), URIRef(SAMV + "PrivateSectorActor")}
    organisations = {o for o in g.objects(None, URIRef(SAMV + "participant")) if str(o).startswith(ID + "org/")}
    assert organisations == {company, association}


def test_rows_of_one_collaboration_are_one_collaboration(study: Callable[..., Path], schema: Schema) -> None:
    folder = study(
        row(1, collaboration="Vattensamverkan", partner="Köping", type="kommun", lead="Västerås stad", period="2009"),
        row(2, collaboration="vattensamverkan", municipality="1983", partner="Sala", type="kommun", period="2012-"),
        row(3),
    )
    result = built(folder, schema)
    assert result.problems == []
    g = result.graph
    water = URIRef(f"{ID}collaboration/min-studie/vattensamverkan")
    kommun = {code: URIRef(f"{ID}kommun/{code}") for code in ("1980", "1983", "1981")}
    assert set(g.objects(water, URIRef(SAMV + "participant"))) == set(kommun.values())
    assert list(g.objects(water, URIRef(SAMV + "leadActor"))) == [kommun["1980"]]
    assert str(g.value(water, URIRef(SAMV + "startDate"))) == "2009"
    assert g.value(water, URIRef(SAMV + "endDate")) is None  # the second row's period is still running
    participations = list(g.objects(water, URIRef(SAMV + "hasParticipation")))
    assert {g.value(p, URIRef(SAMV + "participationOf")) for p in participations} == set(kommun.values())
    own = URIRef(f"{ID}collaboration/min-studie/observation/fg1-03")
    assert (own, RDF.type, URIRef(SAMV + "Collaboration")) in g


def test_building_twice_gives_the_same_graph(study: Callable[..., Path], schema: Schema) -> None:
    folder = study(row(1, collaboration="A", partner="X AB|Y", type="företag|region"), row(2))
    first, second = built(folder, schema).graph, built(folder, schema).graph
    assert not [t for t in first if any(isinstance(term, Node) and term.n3().startswith("_:") for term in t)]
    assert set(first) == set(second)


# --- Bad cells: every problem, with file, row, column and the closest values --------------------------------


def test_every_problem_of_every_row_is_reported(study: Callable[..., Path], schema: Schema) -> None:
    folder = study(
        row(1, municipality="Västeråås"),
        "FG1-02,FG9,Västerås,,A AB|B,företag,,nätverkk,skolan,,,Kalle,våren 2011,,,",
        row(3, partner="Västerås stad", type="företag"),
        row(4, orgnr="559999-0116"),
        row(1),
    )
    sheet = folder / "kodning.csv"
    assert messages(built(folder, schema), folder) == [
        f"{sheet}, row 2, column 'municipality': 'Västeråås' is not a known municipality in the reference list "
        "(data/reference/kommuner.csv); closest: 'Västerås', 'Västerås stad', 'Västervik'",
        f"{sheet}, row 3, column 'source': 'FG9' is not a focus group or case declared in study.yaml; closest: 'FG1'",
        f"{sheet}, row 3, column 'partner_type': 2 partner(s) but 1 type(s); give one type per partner, in the "
        "same order, separated by |",
        f"{sheet}, row 3, column 'form': 'nätverkk' is not a known collaboration form (samverkansform); "
        "closest: 'nätverk'",
        f"{sheet}, row 3, column 'topic': 'skolan' is not a known topic (sakområde); closest: 'skola'",
        f"{sheet}, row 3, column 'period': 'våren 2011' is not a period; write a year (2019), two years "
        "(2019-2022) or an ISO interval (2019-03-01/2020-06-30)",
        f"{sheet}, row 4, column 'partner_type': 'Västerås stad' is a municipality in the reference list; "
        "give its type as 'kommun'",
        f"{sheet}, row 5, column 'partner_orgnr': '559999-0116' is not a valid organisationsnummer: its last "
        "digit is not the check digit of the others (a typing error?)",
        f"{sheet}, row 6, column 'observation': observation id 'FG1-01' is already used in kodning.csv row 2 "
        "(ids are compared ignoring case and punctuation)",
    ]


def test_sheet_level_problems(study: Callable[..., Path], schema: Schema, tmp_path: Path) -> None:
    folder = study(row(1), header=HEADER.replace(",coder", ",kodare").replace("partner_type,", ""))
    (folder / "tom.csv").write_text("")
    (folder / "bara-rubriker.csv").write_text(HEADER + "\n")
    (folder / "latin1.csv").write_bytes((HEADER + "\n" + row(1)).replace("Västerås", "Västerås").encode("latin-1"))
    (folder / "gammal.xls").write_bytes(b"\xd0\xcf")
    sheet = folder / "kodning.csv"
    assert messages(built(folder, schema), folder) == [
        f"{folder / 'bara-rubriker.csv'}: has a header row but no observations below it",
        f"{folder / 'gammal.xls'}: coding sheets must be .csv or .xlsx files; save it as .xlsx or as 'CSV UTF-8' "
        "(in Excel: Save as → CSV UTF-8)",
        f"{sheet}: missing column(s) partner_type, coder; required are observation, source, municipality, partner, "
        "partner_type, form, coder",
        f"{sheet}, row 1: unknown column 'kodare'; columns are observation, source, municipality, collaboration, "
        "partner, partner_type, partner_orgnr, form, topic, goals, governance_tools, lead_actor, period, quote, "
        "location, coder (start a column's name with # to keep notes in it)",
        f"{folder / 'latin1.csv'}: is not UTF-8 text: byte 0xE4 on line 2 is not valid UTF-8 (the file is probably "
        "Latin-1/Windows-1252, which Excel writes for plain 'CSV'); save it as .xlsx or as 'CSV UTF-8' "
        "(in Excel: Save as → CSV UTF-8)",
        f"{folder / 'tom.csv'}: is empty; a coding sheet needs a header row (observation, source, municipality, "
        "partner, partner_type, form, coder, …)",
    ]


def test_merged_cells_are_refused_with_their_place(study: Callable[..., Path], schema: Schema) -> None:
    folder = study(row(1))
    (folder / "kodning.csv").unlink()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    for n in (1, 2, 3):
        sheet.append(row(n).split(","))
    sheet.merge_cells("C2:C4")
    workbook.save(folder / "kodning.xlsx")
    assert messages(built(folder, schema), folder) == [
        f"{folder / 'kodning.xlsx'}, row 2, column 'municipality': cells C2:C4 in worksheet 'Sheet' are merged; "
        "unmerge them and write the value in every cell (a merged cell is empty in all rows but its first)"
    ]


def test_study_yaml_problems_name_the_key(study: Callable[..., Path], schema: Schema) -> None:
    folder = study(row(1))
    path = folder / "study.yaml"
    text = path.read_text().replace("licence: CC-BY-4.0", "license: CC-BY-4.0")
    text = text.replace("municipalities: [Västerås, Eskilstuna]", "municipalities: [Västerås, Eskilstunaa]")
    path.write_text(text.replace("date: 2011-03-15", "date: 2011-13-15"))
    assert messages(built(folder, schema), folder) == [
        f"{path}: key 'license': unknown key; did you mean 'licence'? allowed: id, title, period, method, "
        "researchers, institution, licence, source, description, fictional, language, focus_groups, cases",
        f"{path}: key 'licence': is missing; see docs/study-format.md",
        f"{path}: focus group 'FG1', key 'date': '2011-13-15' is not a date in the calendar",
        f"{path}: focus group 'FG1', key 'municipalities': 'Eskilstunaa' is not a known municipality in the "
        "reference list (data/reference/kommuner.csv); closest: 'Eskilstuna', 'Eskilstuna kommun', 'Sigtuna'",
    ]


def test_broken_yaml_names_line_and_column(study: Callable[..., Path], schema: Schema) -> None:
    folder = study(row(1))
    (folder / "study.yaml").write_text("id: x\ntitle: [unclosed\n")
    with pytest.raises(DataFileError) as raised:
        built(folder, schema)
    assert str(raised.value).endswith(
        "study.yaml: is not valid YAML (line 3, column 1): expected ',' or ']', but got '<stream end>'"
    )


# --- SHACL shapes: one message per constraint, placed on the row -----------------------------------------------

PREFIXES = f"""
@base <{ID}> . @prefix samv: <{SAMV}> . @prefix prov: <http://www.w3.org/ns/prov#> .
@prefix dcterms: <http://purl.org/dc/terms/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
VALID = """
<study> a samv:Study ; dcterms:title "S" ; dcterms:creator "R" ; dcterms:license <https://spdx.org/licenses/CC0-1.0> ;
    dcterms:source "Citation" ; samv:method "enkät" ; samv:fictional true ; samv:startYear "2020"^^xsd:gYear .
<fg> a samv:FocusGroup ; samv:partOf <study> .
<o> a samv:CodedObservation ; dcterms:identifier "O1" ; samv:inStudy <study> ; prov:wasGeneratedBy <fg> .
<o> samv:coder <c> .
<o> samv:describes <col> .
<o> samv:form <concept/samverkansform/projekt> .
<o> samv:quote "…" .
<col> a samv:Collaboration ; rdfs:label "C" .
<col> samv:form <concept/samverkansform/projekt> .
<col> samv:participant <kommun/1980> , <org/x> .
<col> samv:hasParticipation <p1> , <p2> .
<p1> a samv:Participation ; samv:participationOf <kommun/1980> .
<p2> a samv:Participation ; samv:participationOf <org/x> .
<org/x> a samv:Company .
"""
ON_COLLABORATION = "s.csv, row 2, column '{}': collaboration 'C': {}"
ON_OBSERVATION = "s.csv, row 2, column '{}': observation 'O1': {}"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("", "", []),
        (
            "<col> samv:participant <kommun/1980> , <org/x> .\n<col> samv:hasParticipation <p1> , <p2> .",
            "<col> samv:participant <kommun/1980> .\n<col> samv:hasParticipation <p1> .",
            [
                ON_COLLABORATION.format(
                    "partner",
                    "a collaboration needs at least two participants: the municipality and at least one partner "
                    "other than itself",
                )
            ],
        ),
        (
            "<kommun/1980>",
            "<org/y>",
            [ON_COLLABORATION.format("partner", "at least one participant must be a municipality (kommun)")],
        ),
        (
            "<col> samv:form <concept/samverkansform/projekt> .",
            "<col> samv:form <concept/mal/kvalitet> .",
            [ON_COLLABORATION.format("form", "a collaboration form must be a concept of the scheme samverkansform")],
        ),
        (
            "<col> samv:form <concept/samverkansform/projekt> .",
            "",
            [ON_COLLABORATION.format("form", "has no collaboration form (samverkansform)")],
        ),
        (
            "<col> samv:hasParticipation <p1> , <p2> .",
            "<col> samv:hasParticipation <p1> .",
            [
                ON_COLLABORATION.format(
                    "partner",
                    "every participant needs a samv:Participation, and every participation's actor must be a "
                    "participant",
                )
            ],
        ),
        ('<o> samv:quote "…" .', '<o> samv:sourceLocation "s. 3" .', []),
        (
            '<o> samv:quote "…" .',
            "",
            [
                ON_OBSERVATION.format(
                    "quote",
                    "an observation needs the supporting quote or its location in the source (page or timestamp)",
                )
            ],
        ),
        (
            "<o> samv:coder <c> .",
            "",
            [ON_OBSERVATION.format("coder", "an observation needs its coder (who coded it: initials or name)")],
        ),
        (
            "<o> samv:describes <col> .",
            "",
            [
                ON_COLLABORATION.format(
                    "collaboration",
                    "no coded observation describes this collaboration (every collaboration needs a source "
                    "observation)",
                ),
                ON_OBSERVATION.format("collaboration", "an observation describes exactly one collaboration"),
            ],
        ),
    ],
    ids=[
        "valid",
        "one-participant",
        "no-municipality",
        "form-of-another-scheme",
        "no-form",
        "participation-missing",
        "location-for-quote",
        "no-quote-or-location",
        "no-coder",
        "no-observation",
    ],
)
def test_each_shape_has_its_message_and_column(schema: Schema, old: str, new: str, expected: list[str]) -> None:
    """Each case changes one statement of a valid study graph."""
    assert old in VALID
    graph = Graph().parse(data=PREFIXES + VALID.replace(old, new) + "<org/y> a samv:Company .", format="turtle")
    origins: dict[Node, Origin] = {
        URIRef(ID + "o"): Origin(Path("s.csv"), "observation 'O1'", 2),
        URIRef(ID + "col"): Origin(Path("s.csv"), "collaboration 'C'", 2, "collaboration"),
    }
    problems = validate(graph, schema.graph, schema.shapes, origins, Path("s"))
    assert sorted(str(p) for p in problems) == expected


def test_a_built_study_uses_declared_terms_named_individuals_and_matching_participations(schema: Schema) -> None:
    """What tests/test_ontology.py asks of the shipped files, asked of a study built from sheets."""
    result = built(TEMPLATES, schema)
    assert result.problems == []
    g = result.graph
    declared = set(Graph().parse(ROOT / "ontology" / "samverkan.ttl").subjects(RDF.type, None))
    used = {term for triple in g for term in triple if isinstance(term, URIRef) and str(term).startswith(SAMV)}
    assert used - declared == set()
    assert [s for s in set(g.subjects(RDF.type, None)) if (s, RDF.type, OWL.NamedIndividual) not in g] == []
    for collaboration, participation in g.subject_objects(URIRef(SAMV + "hasParticipation")):
        actor = g.value(participation, URIRef(SAMV + "participationOf"))
        assert (collaboration, URIRef(SAMV + "participant"), actor) in g
    assert len(set(g.subject_objects(URIRef(SAMV + "hasParticipation")))) == len(
        set(g.subject_objects(URIRef(SAMV + "participant")))
    )


@pytest.mark.parametrize(
    "folder",
    [TEMPLATES, *sorted(p for p in (ROOT / "data" / "examples").iterdir() if (p / "study.yaml").is_file())],
    ids=str,
)
def test_the_rows_name_what_lies_outside_the_study_only_as_objects(folder: Path, schema: Schema) -> None:
    """StudyGraph.named reads only the objects of the row triples: their subjects are the rows' own nodes."""
    result = built(folder, schema)
    own = tuple(f"{ID}{kind}/{result.study_id}/" for kind in ("observation", "collaboration", "participation"))
    subjects = {t.subject.value for t in result.row_triples}
    assert [s for s in subjects if not s.startswith(own)] == []
    everything = {str(t) for t in result.graph.all_nodes() if isinstance(t, URIRef)}
    assert everything - result.named() <= subjects  # all it leaves out are the rows' own nodes


@pytest.mark.parametrize(
    "rows",
    [
        [row(1)],
        ["FG1-01,,Västerås,,Exempelbolaget AB,företag,,,,,,,,,,", row(2)],
        [row(1, partner="Västerås stad", type="kommun"), row(2, partner="Västerås", type="kommun")],
        [row(1, collaboration="A", partner="Köping", type="kommun"), row(2, collaboration="a").replace("projekt", "")],
        [row(1, partner="X AB", orgnr="559999-0107"), row(2, partner="X AB", orgnr="559999-0115"), row(3)],
        [row(1, partner="Köping", type="kommun", orgnr="212000-0357"), row(2, partner="Köping", type="kommun")],
        [
            row(1, partner="Köping", type="kommun", orgnr="212000-0357"),
            row(2, partner="Köping", type="kommun", orgnr="212000-2007"),
        ],
        ["FG1-01,FG9,Västeråås,,Exempelbolaget AB,företag,,nätverkk,,,,,,,,", row(2, partner="X|Y", type="företag")],
    ],
    ids=[
        "valid",
        "empty-cells",
        "partner-is-the-municipality",
        "collaboration-without-form",
        "orgnr-conflict-elsewhere",
        "kommun-orgnr",
        "kommun-two-orgnr",
        "reading-problems",
    ],
)
def test_the_rows_own_checks_find_what_pyshacl_finds(
    study: Callable[..., Path], schema: Schema, rows: list[str]
) -> None:
    """The shapes of row nodes are checked as the rows are built; pyshacl over the whole graph (as before)
    reports the same problems, placed the same."""
    folder = study(*rows)
    result = built(folder, schema)
    whole = validate(result.graph, schema.beside(result.graph.all_nodes()), schema.shapes, result.origins, folder)
    expected = sorted(str(p) for p in result.problems + _new_problems(whole, result.problems))
    if not expected:
        prepare_study(folder, schema, Progress(), hermit_max_triples=0)  # valid: no problem, reasoned by the rules
        return
    with pytest.raises(StudyProblems) as raised:
        prepare_study(folder, schema, Progress())
    assert sorted(str(p) for p in raised.value.problems) == expected
