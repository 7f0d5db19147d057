"""Every curated saved query, run by the service with the shipped data, checked against answers worked out
here from the source files: the coding sheets of data/examples/ (CSV and XLSX), the REFI-QDA project and SSSOM
crosswalk of the example coded in qualitative-analysis software (the project's XML and the TSV read with the
standard library), data/reference/*.csv, and the seed study and vocabularies read with rdflib graph traversal.
Nothing here runs the query under test.

The oracle below reads a study the way docs/study-format.md describes: a row's municipality and partners take
part in its collaboration (one per name and study, or one per row without a name), codes resolve by label,
partners are the same actor by organisationsnummer or by name. A coded selection of a project is such a row: our
codes are recognised by GUID (UUID 5 of their IRIs), partners are the codes under an actor type, and a code of the
study's own counts under our concept when the crosswalk maps it with skos:exactMatch, closeMatch or broadMatch
(never with narrowMatch or relatedMatch).
"""

from __future__ import annotations

import csv
import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from conftest import Client
from rdflib import RDF, RDFS, SKOS, Graph, Literal, Namespace, URIRef

ROOT = Path(__file__).resolve().parents[1]
BASE = "https://w3id.org/samverkan/"
ID = BASE + "id/"
SAMV = Namespace(BASE + "ontology#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
SEED = ROOT / "data" / "studies" / "samverkan-som-strategi" / "study.ttl"
STUDY_A, STUDY_B, STUDY_C = "fiktiv-fokusgrupper-2011", "fiktiv-fallstudie-kommun-hogskola", "fiktiv-krisberedskap-2021"
STUDY_D = "fiktiv-intervjuer-omsorg-2023"  # a REFI-QDA project with its own codebook and a crosswalk
THEME, SUB_STUDY = "samverkan-som-strategi", "samverkan-som-strategi-delprojekt-2"
ACTOR_TYPES = (
    "Municipality",
    "Region",
    "StateAgency",
    "HigherEducationInstitution",
    "Company",
    "MunicipalCompany",
    "NonProfitOrganisation",
    "Kommunalforbund",
    "GemensamNamnd",
)
PUBLIC = {"Municipality", "Region", "StateAgency", "Kommunalforbund", "GemensamNamnd", "MunicipalCompany"}
SCHEME_OF = {"form": "samverkansform", "topic": "sakomrade", "goals": "mal", "governance_tools": "styrmedel"}
SECTOR = ID + "concept/sektor/"


# --- Reading the sources -------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold()
    return " ".join(re.sub(r"[\u2010-\u2015\u2212]", "-", text).split())


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def actor_name(name: str) -> str:
    """A partner name as two rows are compared: normalised, without a legal-form suffix such as AB."""
    return re.sub(r"(\s+\(publ\))?\s+(ab|hb|kb)$|^ab\s+", "", normalise(name)).strip()


def split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split("|")] if cell.strip() else []


def kommun(code: str) -> str:
    return f"{ID}kommun/{code}"


def years(period: str) -> tuple[int | None, int | None]:
    """Start and end year of a period cell: 2011, 2005-2011, 2019- or 2020-03-15/2021-06-30."""
    text = period.strip()
    if match := re.fullmatch(r"(\d{4})\s*-\s*(\d{4})?", text):
        return int(match[1]), int(match[2]) if match[2] else None
    if "/" in text:
        start, end = text.split("/")
        return (int(start[:4]) if start else None), (int(end[:4]) if end and end != ".." else None)
    return (int(text[:4]), int(text[:4])) if text else (None, None)


class Reference:
    """The municipalities and counties of data/reference/, and the labels of the ontology and vocabularies."""

    def __init__(self) -> None:
        folder = ROOT / "data" / "reference"
        with (folder / "kommuner.csv").open(encoding="utf-8") as handle:
            self.municipalities = {row["kommunkod"]: row for row in csv.DictReader(handle)}
        with (folder / "lan.csv").open(encoding="utf-8") as handle:
            self.counties = {row["lanskod"]: row for row in csv.DictReader(handle)}
        self.by_name = {}
        for code, row in self.municipalities.items():
            for name in (row["name_sv"], row["official_name_sv"]):
                self.by_name[normalise(name)] = code
        self.graph = Graph()
        self.graph.parse(ROOT / "ontology" / "samverkan.ttl")
        self.graph.parse(ROOT / "ontology" / "vocabularies.ttl")

    def municipality(self, text: str) -> str:
        """The kommunkod a sheet means: a code, a name or an official name, with or without kommun/stad."""
        text = text.strip()
        if re.fullmatch(r"\d{3,4}", text):
            return text.zfill(4)
        name = normalise(text)
        bare = re.sub(r"\s+(kommun|stad)$", "", name)
        for candidate in (name, bare, bare[:-1] if bare != name and bare.endswith("s") else bare):
            if candidate in self.by_name:
                return self.by_name[candidate]
        raise KeyError(f"no municipality '{text}'")

    def concept(self, scheme: str, text: str) -> str:
        scheme_iri = URIRef(f"{ID}scheme/{scheme}")
        for concept in self.graph.subjects(SKOS.inScheme, scheme_iri):
            labels = [*self.graph.objects(concept, SKOS.prefLabel), *self.graph.objects(concept, SKOS.altLabel)]
            if any(normalise(str(label)) == normalise(text) for label in labels):
                return str(concept)
        raise KeyError(f"no concept '{text}' in {scheme}")

    def actor_type(self, text: str) -> str:
        for name in ACTOR_TYPES:
            cls = SAMV[name]
            labels = [*self.graph.objects(cls, RDFS.label), *self.graph.objects(cls, SKOS.altLabel)]
            if any(normalise(str(label)) == normalise(text) for label in labels):
                return name
        raise KeyError(f"no actor type '{text}'")

    def concepts(self, scheme: str) -> set[str]:
        return {str(c) for c in self.graph.subjects(SKOS.inScheme, URIRef(f"{ID}scheme/{scheme}"))}

    def label(self, iri: str, predicate: URIRef = SKOS.prefLabel) -> str:
        return next(str(o) for o in self.graph.objects(URIRef(iri), predicate) if getattr(o, "language", "") == "sv")


@dataclass
class Collaboration:
    iri: str
    label: str
    studies: set[str] = field(default_factory=set)  # study ids: the study, and for a case its themes too
    participants: set[str] = field(default_factory=set)
    leads: set[str] = field(default_factory=set)
    codes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # form/topic/goals/tools
    start: int | None = None
    end: int | None = None


@dataclass
class Observation:
    iri: str
    identifier: str
    study: str
    collaboration: str
    quote: str
    source: str


@dataclass
class Data:
    reference: Reference
    collaborations: dict[str, Collaboration] = field(default_factory=dict)
    types: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # actor IRI → actor classes
    observations: list[Observation] = field(default_factory=list)
    focus_groups: dict[str, tuple[str, set[str]]] = field(default_factory=dict)  # IRI → (study, kommunkoder)
    top_level: set[str] = field(default_factory=set)  # studies that are no part of another

    def most_specific(self, actor: str) -> set[str]:
        types = set(self.types[actor])
        return types - {"Company"} if "MunicipalCompany" in types else types

    def sector(self, actor: str) -> str | None:
        types = self.types[actor]
        if types & PUBLIC:
            return SECTOR + "offentlig-sektor"
        if "Company" in types:
            return SECTOR + "privat-sektor"
        if "NonProfitOrganisation" in types:
            return SECTOR + "civilsamhallet"
        return None

    def municipalities_in(self, c: Collaboration) -> set[str]:
        return {p for p in c.participants if "Municipality" in self.types[p]}

    def partners(self, c: Collaboration) -> set[str]:
        """Participants that collaborate with a municipality in c (another municipality counts too)."""
        return {p for p in c.participants if self.municipalities_in(c) - {p}}

    def in_studies(self, studies: Iterable[str] | None = None) -> list[Collaboration]:
        wanted = set(studies) if studies else None
        return [c for c in self.collaborations.values() if wanted is None or c.studies & wanted]

    @cached_property
    def study_ids(self) -> set[str]:
        return {s for c in self.collaborations.values() for s in c.studies}


def sheet_rows(folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows += [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]
    for path in sorted(folder.glob("*.xlsx")):
        sheet = openpyxl.load_workbook(path, read_only=True).active
        lines = sheet.iter_rows(values_only=True)
        header = [str(h) for h in next(lines)]
        for line in lines:
            if any(v not in (None, "") for v in line):
                rows.append({h: "" if v is None else str(v).strip() for h, v in zip(header, line, strict=False)})
    return rows


QDA = "{urn:QDA-XML:project:1.0}"
COUNTED = ("skos:exactMatch", "skos:closeMatch", "skos:broadMatch")


def our_guid(iri: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, iri)).upper()


def crosswalk(folder: Path) -> dict[str, list[str]]:
    """Own code (GUID, or name) -> the IRIs of ours it counts under, from the folder's SSSOM tables."""
    counted: dict[str, list[str]] = defaultdict(list)
    for path in sorted(folder.glob("*.sssom.tsv")):
        lines = path.read_text(encoding="utf-8").splitlines()
        header = yaml.safe_load("\n".join(line[1:] for line in lines if line.startswith("#")))
        prefixes = header["curie_map"]
        for row in csv.DictReader([line for line in lines if not line.startswith("#")], delimiter="\t"):
            if row["predicate_id"] in COUNTED:
                prefix, local = row["object_id"].split(":", 1)
                subject = row["subject_id"].removeprefix("urn:uuid:").upper() or row["subject_label"]
                counted[subject].append(prefixes[prefix] + local)
    return counted


def project_rows(folder: Path, ref: Reference) -> list[dict[str, str]]:
    """Each coded selection of the folder's REFI-QDA projects as the coding-sheet row it stands for."""
    ours: dict[str, tuple[str, str]] = {
        our_guid(f"{ID}kommun/{code}"): ("municipality", code) for code in ref.municipalities
    }
    for column, scheme in SCHEME_OF.items():
        ours |= {our_guid(c): (column, ref.label(c)) for c in ref.concepts(scheme)}
    types = {our_guid(str(SAMV[name])): ref.label(str(SAMV[name]), RDFS.label) for name in ACTOR_TYPES}
    collaborations = our_guid(str(SAMV.Collaboration))
    counted = crosswalk(folder)
    rows = []
    for path in sorted(folder.glob("*.qdpx")):
        with zipfile.ZipFile(path) as archive:
            root = ET.fromstring(archive.read("project.qde"))
            texts = {n: archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("Sources/")}
        users = {u.get("guid"): u.get("name") for u in root.iter(QDA + "User")}
        codes: dict[str, tuple[str, str, str]] = {}  # GUID -> (name, description, parent GUID)
        for parent in root.iter(QDA + "Code"):
            for child in parent.findall(QDA + "Code"):
                codes[child.get("guid", "")] = (
                    child.get("name", ""),
                    child.findtext(QDA + "Description") or "",
                    parent.get("guid", ""),
                )
        for code in root.iter(QDA + "Code"):
            codes.setdefault(code.get("guid", ""), (code.get("name", ""), "", ""))
        for source in root.iter(QDA + "TextSource"):
            text = texts["Sources/" + source.get("plainTextPath", "").removeprefix("internal://")]
            for selection in source.findall(QDA + "PlainTextSelection"):
                row = {k: "" for k in ("municipality", "collaboration", "lead_actor", "period", *SCHEME_OF)}
                partners: list[tuple[str, str, str]] = []
                for ref_element in selection.iter(QDA + "CodeRef"):
                    target = ref_element.get("targetGUID", "")
                    name, description, parent = codes[target]
                    if target in ours:
                        column, value = ours[target]
                        row[column] = "|".join(filter(None, [row[column], value]))
                    elif parent in types:
                        orgnr = re.search(r"\d{6}-\d{4}", description)
                        partners.append((name, types[parent], orgnr[0] if orgnr else ""))
                    elif parent == collaborations:
                        row["collaboration"] = name
                    for iri in counted.get(target, []) + counted.get(name, []):
                        scheme = iri.removeprefix(ID + "concept/").split("/")[0]
                        column = next(c for c, s in SCHEME_OF.items() if s == scheme)
                        row[column] = "|".join(filter(None, [row[column], ref.label(iri)]))
                start, end = int(selection.get("startPosition", "")), int(selection.get("endPosition", ""))
                row |= {
                    "observation": selection.get("guid", ""),
                    "source": source.get("name", ""),
                    "partner": "|".join(p[0] for p in partners),
                    "partner_type": "|".join(p[1] for p in partners),
                    "partner_orgnr": "|".join(p[2] for p in partners) if any(p[2] for p in partners) else "",
                    "quote": text[start:end],
                    "coder": users[selection.get("creatingUser")],
                }
                rows.append(row)
    return rows


def read_example(data: Data, folder: Path) -> None:
    ref = data.reference
    meta = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))
    study = meta["id"]
    data.top_level.add(study)
    for group in meta.get("focus_groups") or []:
        codes = {ref.municipality(name) for name in group.get("municipalities", [])}
        data.focus_groups[f"{ID}focusgroup/{study}/{slug(str(group['id']))}"] = (study, codes)
    rows = sheet_rows(folder) + project_rows(folder, ref)

    # Partners of one study are one actor when they share an organisationsnummer or a normalised name.
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    mentions = []
    for row in rows:
        names, kinds = split(row["partner"]), split(row["partner_type"])
        numbers = split(row["partner_orgnr"]) or [""] * len(names)
        for name, kind, number in zip(names, kinds, numbers, strict=True):
            kind = ref.actor_type(kind)
            mentions.append((row["observation"], name, kind, number))
            if kind != "Municipality":
                key = find("name:" + actor_name(name))
                if number:
                    parent[key] = find("orgnr:" + number)
    numbers_of: dict[str, set[str]] = defaultdict(set)
    first_name: dict[str, str] = {}
    for _, name, kind, number in mentions:
        if kind != "Municipality":
            root = find("name:" + actor_name(name))
            first_name.setdefault(root, name)
            if number:
                numbers_of[root].add(number)

    def actor(name: str, kind: str) -> str:
        if kind == "Municipality":
            return kommun(ref.municipality(name))
        root = find("name:" + actor_name(name))
        numbers = sorted(numbers_of[root])
        return f"{ID}org/{numbers[0] if numbers else slug(actor_name(first_name[root]))}"

    for row in rows:
        observation = row["observation"]
        municipality = kommun(ref.municipality(row["municipality"]))
        data.types[municipality].add("Municipality")
        partners = []
        for obs, name, kind, _ in mentions:
            if obs == observation:
                iri = actor(name, kind)
                data.types[iri].add(kind)
                partners.append((name, iri))
        if row["collaboration"]:
            iri = f"{ID}collaboration/{study}/{slug(row['collaboration'])}"
            label = row["collaboration"]
        else:
            iri = f"{ID}collaboration/{study}/observation/{slug(observation)}"
            label = f"{row['municipality']} \N{EN DASH} {', '.join(name for name, _ in partners)}"
        c = data.collaborations.setdefault(iri, Collaboration(iri, label, {study}))
        c.participants |= {municipality} | {p for _, p in partners}
        for column, scheme in SCHEME_OF.items():
            c.codes[column] |= {ref.concept(scheme, value) for value in split(row[column])}
        if row["lead_actor"]:
            lead = next((p for name, p in partners if actor_name(name) == actor_name(row["lead_actor"])), None)
            c.leads.add(lead or kommun(ref.municipality(row["lead_actor"])))
        start, end = years(row["period"])
        if start is not None:
            c.start = min(c.start or start, start)
        if end is not None:
            c.end = max(c.end or end, end)
        data.observations.append(
            Observation(
                f"{ID}observation/{study}/{slug(observation)}", observation, study, iri, row["quote"], row["source"]
            )
        )


def read_seed(data: Data) -> Graph:
    graph = Graph()
    graph.parse(SEED, publicID=BASE)
    graph.parse(ROOT / "ontology" / "samverkan.ttl")  # for the class hierarchy of the seed's study classes
    study_classes = {SAMV.Study, *graph.transitive_subjects(RDFS.subClassOf, SAMV.Study)}
    for study in {s for cls in study_classes for s in graph.subjects(RDF.type, cls)}:
        if (study, SAMV.partOf, None) not in graph:
            data.top_level.add(str(study).removeprefix(ID + "study/"))
    for sub_study, case in graph.subject_objects(SAMV.studiesCase):
        studies = {str(s).removeprefix(ID + "study/") for s in graph.transitive_objects(sub_study, SAMV.partOf)}
        for collaboration in graph.objects(case, SAMV.caseOf):
            c = data.collaborations.setdefault(
                str(collaboration), Collaboration(str(collaboration), str(graph.value(collaboration, RDFS.label)))
            )
            c.studies |= studies
            c.participants |= {str(p) for p in graph.objects(collaboration, SAMV.participant)}
            c.leads |= {str(p) for p in graph.objects(collaboration, SAMV.leadActor)}
            for column, prop in (
                ("form", SAMV.form),
                ("topic", SAMV.topic),
                ("goals", SAMV.goal),
                ("governance_tools", SAMV.governanceTool),
            ):
                c.codes[column] |= {str(o) for o in graph.objects(collaboration, prop)}
            start = graph.value(collaboration, SAMV.startYear)
            c.start = int(str(start)) if start is not None else None
    for actor in {p for c in data.collaborations.values() for p in c.participants}:
        if actor.startswith(ID + "kommun/"):
            data.types[actor].add("Municipality")
        data.types[actor] |= {name for name in ACTOR_TYPES if (URIRef(actor), RDF.type, SAMV[name]) in graph}
    return graph


@pytest.fixture(scope="module")
def data() -> Data:
    found = Data(Reference())
    for folder in sorted((ROOT / "data" / "examples").iterdir()):
        if (folder / "study.yaml").is_file():
            read_example(found, folder)
    read_seed(found)
    return found


@pytest.fixture(scope="module")
def seed() -> Graph:
    graph = Graph()
    graph.parse(SEED, publicID=BASE)
    return graph


def run(server: Client, name: str, **params: Any) -> list[dict[str, str]]:
    response = server.get(f"{server.url}/api/queries/{name}", params=params, timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["Samverkan-Query-Version"] == "1"
    return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]


def percent(n: int, total: int) -> float:
    return float((Decimal(1000 * n) / Decimal(total)).quantize(Decimal(1), ROUND_HALF_UP) / 10)


def local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1]


# --- The oracle's sanity: what the example studies' README says they hold ------------------------------------


def test_the_oracle_reads_the_example_studies_as_their_readme_counts_them(data: Data) -> None:
    by_study = Counter(o.study for o in data.observations)
    assert by_study == {STUDY_A: 44, STUDY_B: 30, STUDY_C: 34, STUDY_D: 11}
    assert Counter(s for c in data.collaborations.values() for s in c.studies if s.startswith("fiktiv")) == {
        STUDY_A: 24,
        STUDY_B: 15,
        STUDY_C: 26,
        STUDY_D: 6,
    }


# --- Research question 1 -------------------------------------------------------------------------------------


def partner_types(data: Data, studies: list[str] | None = None) -> dict[tuple[str, str], tuple[int, int]]:
    partners: dict[tuple[str, str], set[str]] = defaultdict(set)
    collaborations: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in data.in_studies(studies):
        for m in data.municipalities_in(c):
            code = m.rsplit("/", 1)[-1]
            for p in c.participants - {m}:
                for kind in data.most_specific(p):
                    partners[code, kind].add(p)
                    collaborations[code, kind].add(c.iri)
    return {key: (len(partners[key]), len(collaborations[key])) for key in partners}


def test_partner_types_by_municipality(client: Client, data: Data) -> None:
    rows = run(client, "partner-types-by-municipality")
    got = {(r["kommunkod"], local(r["partnerType"])): (int(r["partners"]), int(r["collaborations"])) for r in rows}
    assert got == partner_types(data)
    assert {r["partnerTypeLabel"] for r in rows} >= {"kommun", "region", "ideell organisation", "gemensam nämnd"}


def test_partner_types_of_chosen_municipalities_in_chosen_studies(client: Client, data: Data) -> None:
    rows = run(client, "partner-types-by-municipality", kommun=["Västerås stad", "1983"], study=[STUDY_A, STUDY_C])
    got = {(r["kommunkod"], local(r["partnerType"])): (int(r["partners"]), int(r["collaborations"])) for r in rows}
    expected = {k: v for k, v in partner_types(data, [STUDY_A, STUDY_C]).items() if k[0] in ("1980", "1983")}
    assert got == expected and got


@pytest.mark.parametrize(("query", "column"), [("topics-by-partner-type", "topic"), ("goals-by-partner-type", "goals")])
def test_codes_by_partner_type(client: Client, data: Data, query: str, column: str) -> None:
    expected: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in data.in_studies():
        kinds = {kind for p in data.partners(c) for kind in data.most_specific(p)}
        for concept in c.codes[column]:
            for kind in kinds:
                expected[concept, kind].add(c.iri)
    variable = "topic" if column == "topic" else "goal"
    rows = run(client, query)
    got = {(r[variable], local(r["partnerType"])): int(r["collaborations"]) for r in rows}
    assert got == {key: len(value) for key, value in expected.items()}

    region = str(SAMV.Region)
    rows = run(client, query, partnerType=region, study=STUDY_B)
    expected_b: Counter[str] = Counter()
    for c in data.in_studies([STUDY_B]):
        if any("Region" in data.most_specific(p) for p in data.partners(c)):
            expected_b.update(c.codes[column])
    assert {r[variable]: int(r["collaborations"]) for r in rows} == expected_b
    assert {r["partnerType"] for r in rows} == {region}


# --- Research question 2 -------------------------------------------------------------------------------------


def test_governance_tools_by_form(client: Client, data: Data) -> None:
    for params, studies in (({}, None), ({"study": STUDY_A}, [STUDY_A])):
        expected: Counter[tuple[str, str]] = Counter()
        for c in data.in_studies(studies):
            expected.update((f, t) for f in c.codes["form"] for t in c.codes["governance_tools"])
        rows = run(client, "governance-tools-by-form", **params)
        assert {(r["form"], r["tool"]): int(r["collaborations"]) for r in rows} == expected
    rows = run(client, "governance-tools-by-form", form=["kommunalförbund", "IOP"])
    assert {r["formLabel"] for r in rows} == {"kommunalförbund", "idéburet offentligt partnerskap"}


def test_lead_actors_by_form(client: Client, data: Data) -> None:
    expected: dict[tuple[str, str], set[str]] = defaultdict(set)
    names: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in data.in_studies():
        kinds = {(kind, lead) for lead in c.leads for kind in data.most_specific(lead)} or {("ingen angiven", "")}
        for form in c.codes["form"]:
            for kind, lead in kinds:
                expected[form, kind].add(c.iri)
                names[form, kind].add(lead)
    rows = run(client, "lead-actors-by-form")
    got = {(r["form"], local(r["leadType"])): int(r["collaborations"]) for r in rows}
    assert got == {key: len(value) for key, value in expected.items()}
    assert any(r["leadTypeLabel"] == "ingen angiven" for r in rows)
    # The lead's names are given: a municipality by its reference name.
    municipal = next(r for r in rows if local(r["leadType"]) == "Municipality")
    codes = {lead.rsplit("/", 1)[-1] for lead in names[municipal["form"], "Municipality"]}
    expected_names = {data.reference.municipalities[code]["name_sv"] for code in codes}
    assert set(municipal["leads"].split(" | ")) == expected_names


# --- Distributions per study, and comparisons ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "column", "variable"),
    [
        ("forms-by-study", "form", "form"),
        ("goals-by-study", "goals", "goal"),
        ("governance-tools-by-study", "governance_tools", "tool"),
        ("topics-by-study", "topic", "topic"),
    ],
)
def test_codes_by_study(client: Client, data: Data, query: str, column: str, variable: str) -> None:
    expected = {}
    for study in data.study_ids:
        collaborations = data.in_studies([study])
        counts = Counter(code for c in collaborations for code in c.codes[column])
        for code, n in counts.items():
            expected[study, code] = (n, len(collaborations), percent(n, len(collaborations)))
    rows = run(client, query)
    got = {
        (r["study"].removeprefix(ID + "study/"), r[variable]): (
            int(r["collaborations"]),
            int(r["total"]),
            float(r["percent"]),
        )
        for r in rows
    }
    assert got == expected
    two = run(client, query, study=[STUDY_A, STUDY_C])
    assert {r["study"].removeprefix(ID + "study/") for r in two} == {STUDY_A, STUDY_C}
    assert len(two) == sum(1 for study, _ in expected if study in (STUDY_A, STUDY_C))


def test_partner_sectors_by_study(client: Client, data: Data) -> None:
    expected = {}
    for study in data.study_ids:
        partners = {p for c in data.in_studies([study]) for p in data.partners(c)}
        counts = Counter(data.sector(p) or "sektor ej angiven" for p in partners)
        for sector, n in counts.items():
            expected[study, sector] = (n, len(partners), percent(n, len(partners)))
    rows = run(client, "partner-sectors-by-study")
    got = {
        (r["study"].removeprefix(ID + "study/"), r["sector"]): (
            int(r["partners"]),
            int(r["total"]),
            float(r["percent"]),
        )
        for r in rows
    }
    assert got == expected
    assert {r["sectorLabel"] for r in rows} == {
        "offentlig sektor",
        "privat sektor",
        "civilsamhället",
        "sektor ej angiven",
    }


@pytest.mark.parametrize("dimension", ["goal", "sector", "tool", "form"])
def test_compare_studies_gives_shares_and_differences(client: Client, data: Data, dimension: str) -> None:
    studies = [STUDY_A, STUDY_C, STUDY_D]
    column = {"goal": "goals", "tool": "governance_tools", "form": "form"}.get(dimension)
    shares: dict[str, dict[str, float]] = defaultdict(dict)
    for study in studies:
        collaborations = data.in_studies([study])
        if column:
            counts = Counter(code for c in collaborations for code in c.codes[column])
        else:
            counts = Counter(s for c in collaborations for s in {data.sector(p) for p in data.partners(c)} if s)
        for value, n in counts.items():
            shares[value][study] = percent(n, len(collaborations))
    rows = run(client, "compare-studies", study=studies, dimension=dimension)
    assert {r["value"] for r in rows} == set(shares)
    for row in rows:
        expected = [shares[row["value"]].get(study, 0.0) for study in studies]
        assert row["dimension"] == dimension and int(row["studies"]) == len(studies)
        assert float(row["lowest"]) == min(expected) and float(row["highest"]) == max(expected)
        assert float(row["difference"]) == pytest.approx(max(expected) - min(expected), abs=1e-9)
        listed = dict(part.split(": ") for part in row["shares"].split(" | "))
        assert {study: float(text.removesuffix(" %")) for study, text in listed.items()} == dict(
            zip(studies, expected, strict=True)
        )
    differences = [float(r["difference"]) for r in rows]
    assert differences == sorted(differences, reverse=True)


def test_compare_studies_needs_studies_and_a_known_dimension(client: Client) -> None:
    url = f"{client.url}/api/queries/compare-studies"
    response = client.get(url, timeout=30)
    assert response.status_code == 400 and "Parameter 'study'" in response.json()["message"]
    response = client.get(url, params={"study": STUDY_A, "dimension": "colour"}, timeout=30)
    assert response.status_code == 400
    assert "'colour' is not one of the allowed values: form, goal, tool, topic, sector" in response.json()["message"]


# --- Inferred classes ----------------------------------------------------------------------------------------


def test_municipality_university_collaborations(client: Client, data: Data) -> None:
    def expected(codes: set[str] | None = None) -> set[str]:
        return {
            c.iri
            for c in data.in_studies()
            if data.municipalities_in(c)
            and any("HigherEducationInstitution" in data.types[p] for p in c.participants)
            and (codes is None or {kommun(code) for code in codes} & c.participants)
        }

    rows = run(client, "municipality-university-collaborations")
    assert {r["collaboration"] for r in rows} == expected() and len(rows) == len(expected())
    contract = next(r for r in rows if r["collaboration"] == ID + "collaboration/samhallskontraktet")
    assert set(contract["municipalities"].split(" | ")) == {"Västerås", "Eskilstuna"}
    assert contract["universities"] == "Mälardalens universitet"
    assert set(contract["studies"].split(" | ")) == {THEME, SUB_STUDY}
    rows = run(client, "municipality-university-collaborations", kommun="Strängnäs")
    assert {r["collaboration"] for r in rows} == expected({"0486"})


def test_inter_municipal_collaborations(client: Client, data: Data) -> None:
    def expected(county: str | None = None) -> dict[str, int]:
        found = {}
        for c in data.in_studies():
            municipalities = data.municipalities_in(c)
            if len(municipalities) >= 2 and (
                county is None or any(m.split("/")[-1][:2] == county for m in municipalities)
            ):
                found[c.iri] = len(municipalities)
        return found

    rows = run(client, "inter-municipal-collaborations")
    assert {r["collaboration"]: int(r["municipalityCount"]) for r in rows} == expected()
    rows = run(client, "inter-municipal-collaborations", lan="Västmanlands län")
    assert {r["collaboration"]: int(r["municipalityCount"]) for r in rows} == expected("19")
    counts = [int(r["municipalityCount"]) for r in rows]
    assert counts == sorted(counts, reverse=True)


# --- One municipality ----------------------------------------------------------------------------------------


def test_municipality_profile(client: Client, data: Data) -> None:
    rows = run(client, "municipality-profile", kommun="Västerås")
    facts: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        facts[r["aspect"]].add(r.get("value", r.get("valueLabel", "")))
    reference = data.reference.municipalities["1980"]
    assert facts["kommunkod"] == {"1980"} and facts["namn"] == {reference["name_sv"]}
    assert facts["officiellt namn"] == {reference["official_name_sv"]}
    assert facts["län"] == {f"{ID}lan/19"}
    mine = [c for c in data.in_studies() if kommun("1980") in c.participants]
    assert facts["samverkan"] == {c.iri for c in mine}
    assert facts["leder samverkan"] == {c.iri for c in mine if kommun("1980") in c.leads}
    assert facts["samverkanspartner"] == {p for c in mine for p in c.participants} - {kommun("1980")}
    for aspect, column in (("samverkansform", "form"), ("mål", "goals"), ("styrmedel", "governance_tools")):
        assert facts[aspect] == {code for c in mine for code in c.codes[column]}
    assert facts["studie"] == {ID + "study/" + s for c in mine for s in c.studies}
    assert facts["fokusgrupp"] == {fg for fg, (_, codes) in data.focus_groups.items() if "1980" in codes}


def test_municipality_profile_needs_a_municipality(client: Client) -> None:
    url = f"{client.url}/api/queries/municipality-profile"
    response = client.get(url, timeout=30)
    assert response.status_code == 400
    assert response.json()["message"].startswith("Parameter 'kommun': is required")
    response = client.get(url, params={"kommun": "Vesterås"}, timeout=30)
    assert response.status_code == 400
    message = response.json()["message"]
    assert "'Vesterås' is not a municipality" in message and "closest: " in message and "Västerås" in message


def test_municipality_graph_as_rdf(client: Client, data: Data) -> None:
    response = client.get(
        f"{client.url}/api/queries/municipality-graph",
        params={"kommun": "0484"},
        headers={"Accept": "text/turtle"},
        timeout=30,
    )
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/turtle")
    graph = Graph().parse(data=response.text, format="turtle")
    eskilstuna = URIRef(kommun("0484"))
    assert (eskilstuna, SAMV.kommunkod, Literal("0484")) in graph
    mine = {c.iri for c in data.in_studies() if str(eskilstuna) in c.participants}
    assert {str(c) for c in graph.subjects(SAMV.participant, eskilstuna)} == mine
    described = {str(o) for o, c in graph.subject_objects(SAMV.describes)}
    assert described == {o.iri for o in data.observations if o.collaboration in mine}
    jsonld = client.get(
        f"{client.url}/api/queries/municipality-graph",
        params={"kommun": "0484", "format": "jsonld"},
        timeout=30,
    )
    assert jsonld.headers["Content-Type"].startswith("application/ld+json")
    assert len(Graph().parse(data=jsonld.text, format="json-ld")) == len(graph)


# --- Across studies and places -------------------------------------------------------------------------------


def actors_by_study(data: Data) -> dict[str, tuple[set[str], set[str]]]:
    found: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for c in data.in_studies():
        for actor in c.participants:
            found[actor][0].update(c.studies & data.top_level)
            found[actor][1].add(c.iri)
    return found


def test_actors_in_several_studies(client: Client, data: Data) -> None:
    found = actors_by_study(data)
    rows = run(client, "actors-in-several-studies")
    expected = {a: (len(s), len(c)) for a, (s, c) in found.items() if len(s) >= 2}
    assert {r["actor"]: (int(r["studies"]), int(r["collaborations"])) for r in rows} == expected
    for row in rows:
        assert set(row["studyIds"].split(" | ")) == found[row["actor"]][0]
    assert next(r for r in rows if r["actor"].endswith("/org/559999-0115"))["organisationsnummer"] == "559999-0115"

    rows = run(client, "actors-in-several-studies", minStudies="3", includeMunicipalities="false")
    expected = {
        a: (len(s), len(c)) for a, (s, c) in found.items() if len(s) >= 3 and "Municipality" not in data.types[a]
    }
    assert {r["actor"]: (int(r["studies"]), int(r["collaborations"])) for r in rows} == expected and expected


def test_collaborations_by_county(client: Client, data: Data) -> None:
    for params, studies in (({}, None), ({"study": [STUDY_B, THEME]}, [STUDY_B, THEME])):
        collaborations: dict[str, set[str]] = defaultdict(set)
        municipalities: dict[str, set[str]] = defaultdict(set)
        for c in data.in_studies(studies):
            for m in data.municipalities_in(c):
                county = data.reference.municipalities[m.rsplit("/", 1)[-1]]["lanskod"]
                collaborations[county].add(c.iri)
                municipalities[county].add(m)
        rows = run(client, "collaborations-by-county", **params)
        got = {r["lanskod"]: (int(r["collaborations"]), int(r["municipalities"])) for r in rows}
        assert got == {county: (len(collaborations[county]), len(municipalities[county])) for county in collaborations}
        for row in rows:
            assert row["lanName"] == data.reference.counties[row["lanskod"]]["official_name_sv"]


def test_collaboration_network(client: Client, data: Data) -> None:
    def edges(codes: set[str] | None = None) -> Counter[tuple[str, str]]:
        found: Counter[tuple[str, str]] = Counter()
        for c in data.in_studies():
            pairs = {
                (m, p)
                for m in data.municipalities_in(c)
                for p in c.participants - {m}
                if "Municipality" not in data.types[p] or m < p
            }
            found.update(pair for pair in pairs if codes is None or {kommun(code) for code in codes} & set(pair))
        return found

    rows = run(client, "collaboration-network")
    assert Counter({(r["source"], r["target"]): int(r["weight"]) for r in rows}) == edges()
    rows = run(client, "collaboration-network", kommun=["Köping", "Arboga"])
    assert Counter({(r["source"], r["target"]): int(r["weight"]) for r in rows}) == edges({"1983", "1984"})


# --- Evidence, search and the seed study ---------------------------------------------------------------------


def test_collaboration_evidence(client: Client, data: Data) -> None:
    rows = run(client, "collaboration-evidence", search="RÄDDNINGSTJÄNSTEN", kommun="Köping")
    expected = {
        o.identifier
        for o in data.observations
        if "räddningstjänsten" in normalise(data.collaborations[o.collaboration].label)
        and kommun("1983") in data.collaborations[o.collaboration].participants
    }
    assert {r["observationId"] for r in rows} == expected and expected
    by_id = {o.identifier: o for o in data.observations}
    for row in rows:
        observation = by_id[row["observationId"]]
        assert row["kind"] == "kodad observation" and row["quote"] == observation.quote
        assert row["study"] == ID + "study/" + observation.study and row["fictional"] == "true"
        assert row["sourceLabel"] == f"Fokusgrupp {observation.source}"

    rows = run(client, "collaboration-evidence", collaboration=ID + "collaboration/samhallskontraktet")
    assert {r["kind"] for r in rows} == {"källa"}
    assert {r["source"] for r in rows} == {
        ID + "source/samverkan-som-strategi-beskrivning",
        ID + "source/mdu-samhallskontraktet",
    }
    assert {r["study"] for r in rows} == {ID + "study/" + SUB_STUDY}


def test_search_quotes(client: Client, data: Data) -> None:
    rows = run(client, "search-quotes", text="PANDEMIN")
    expected = {o.iri for o in data.observations if "pandemin" in o.quote.casefold()}
    assert {r["observation"] for r in rows} == expected and expected
    rows = run(client, "search-quotes", text="förbund", study=STUDY_A)
    expected = {o.iri for o in data.observations if "förbund" in o.quote.casefold() and o.study == STUDY_A}
    assert {r["observation"] for r in rows} == expected and expected


def test_samhallskontraktet(client: Client, seed: Graph) -> None:
    rows = run(client, "samhallskontraktet")
    facts: dict[str, dict[str, str]] = defaultdict(dict)
    for r in rows:
        facts[r["aspect"]][r.get("value", r["valueLabel"])] = r.get("when", "")
    contract = URIRef(ID + "collaboration/samhallskontraktet")
    parties = {}
    for participation in seed.objects(contract, SAMV.hasParticipation):
        actor = seed.value(participation, SAMV.participationOf)
        parties[str(actor)] = str(
            seed.value(participation, SAMV.startDate) or seed.value(participation, SAMV.startYear)
        )
    assert facts["part"] == parties and len(parties) == 5
    assert set(facts["avtal"]) == {str(a) for a in seed.objects(contract, SAMV.agreement)}
    assert facts["avtal"][ID + "agreement/samhallskontraktet-2021-2025"] == "2021\N{EN DASH}2025"
    texts = {str(seed.value(s, SAMV.statementText)) for s in seed.objects(contract, SAMV.goalStatement)}
    assert {r["valueLabel"] for r in rows if r["aspect"] == "formulerat mål"} == texts and len(texts) == 4
    assert {r["valueLabel"] for r in rows if r["aspect"] == "vision"} == {str(seed.value(contract, SAMV.vision))}
    assert set(facts["mål"]) == {str(g) for g in seed.objects(contract, SAMV.goal)}
    change = next(r for r in rows if r["aspect"] == "namnbyte")
    assert change["valueLabel"] == "Mälardalens högskola → Mälardalens universitet" and change["when"] == "2022-01-01"
    assert {r["source"] for r in rows if "source" in r} <= {
        ID + "source/samverkan-som-strategi-beskrivning",
        ID + "source/mdu-samhallskontraktet",
    }


# --- Reference data and the studies --------------------------------------------------------------------------


def test_municipalities_with_codes(client: Client, data: Data) -> None:
    rows = run(client, "municipalities")
    expected = {
        code: (row["name_sv"], row["official_name_sv"], row["lanskod"])
        for code, row in data.reference.municipalities.items()
    }
    assert {r["kommunkod"]: (r["name"], r["officialName"], r["lanskod"]) for r in rows} == expected
    assert [r["kommunkod"] for r in rows] == sorted(expected)
    assert len(rows) == 290
    eskilstuna = next(r for r in rows if r["kommunkod"] == "0484")
    assert eskilstuna["organisationsnummer"] == "212000-0357"
    rows = run(client, "municipalities", lan=["04", "Gotland"])
    assert {r["kommunkod"] for r in rows} == {c for c, (_, _, lan) in expected.items() if lan in ("04", "09")}


def test_studies(client: Client, data: Data) -> None:
    rows = {r["studyId"]: r for r in run(client, "studies")}
    for study in (STUDY_A, STUDY_B, STUDY_C):
        collaborations = data.in_studies([study])
        assert int(rows[study]["observations"]) == sum(1 for o in data.observations if o.study == study)
        assert int(rows[study]["collaborations"]) == len(collaborations)
        assert int(rows[study]["municipalities"]) == len({m for c in collaborations for m in data.municipalities_in(c)})
        assert rows[study]["fictional"] == "true"
    assert rows[SUB_STUDY]["partOf"] == ID + "study/" + THEME
    assert int(rows[THEME]["collaborations"]) == 1 and int(rows[THEME]["observations"]) == 0


def test_find_collaborations(client: Client, data: Data) -> None:
    ref = data.reference
    everything = run(client, "find-collaborations")
    assert {r["collaboration"] for r in everything} == set(data.collaborations)

    rows = run(client, "find-collaborations", form="IOP", lan="Gävleborg", **{"from": "2021"})
    iop = ref.concept("samverkansform", "IOP")
    expected = {
        c.iri
        for c in data.in_studies()
        if iop in c.codes["form"]
        and any(ref.municipalities[m.rsplit("/", 1)[-1]]["lanskod"] == "21" for m in data.municipalities_in(c))
        and (c.end is None or c.end >= 2021)
    }
    assert {r["collaboration"] for r in rows} == expected and expected

    goals = [ref.concept("mal", "effektivitet"), ref.concept("mal", "kvalitet")]
    rows = run(client, "find-collaborations", goal=["Efficiency", "kvalitet"], study=STUDY_A, to="2007")
    expected = {
        c.iri
        for c in data.in_studies([STUDY_A])
        if set(goals) & c.codes["goals"] and (c.start is None or c.start <= 2007)
    }
    assert {r["collaboration"] for r in rows} == expected and expected

    # Through the crosswalk: a broad match counts (effektivitet), a narrow one never does (kvalitet).
    found = {}
    for goal in ("effektivitet", "kvalitet"):
        rows = run(client, "find-collaborations", goal=goal, study=STUDY_D)
        expected = {c.iri for c in data.in_studies([STUDY_D]) if ref.concept("mal", goal) in c.codes["goals"]}
        found[goal] = {r["collaboration"] for r in rows}
        assert found[goal] == expected
    assert len(found["effektivitet"]) == 2 and found["kvalitet"] == set()


@pytest.mark.parametrize("query", ["municipalities", "studies", "samhallskontraktet"])
def test_queries_answer_the_same_on_a_remote_store(client: Client, remote_client: Client, query: str) -> None:
    def as_set(server: Client) -> set[tuple[tuple[str, str], ...]]:
        return {tuple(sorted(r.items())) for r in run(server, query)}

    assert as_set(remote_client) == as_set(client)
