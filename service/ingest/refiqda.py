"""REFI-QDA projects (`*.qdpx` from NVivo, ATLAS.ti, MAXQDA, QualCoder …) read into the rows of a study.

Each coded text selection becomes one row, the same as a coding-sheet row, so it goes through the same
resolution, SHACL shapes and reasoner: its quote is the selected text, its location the source and character
range, its coder the user who made the coding, its source the focus group or case named like the source. Codes
of our codebook (service/ingest/codebook.py, recognised by GUID) give its municipality, partners, forms, goals,
tools, topics and collaboration. Every other code becomes a concept of the study's own SKOS scheme, kept on the
observation (samv:studyCode); a crosswalk (service/ingest/crosswalk.py) maps such codes to ours.

Positions count Unicode code points (the standard); NVivo counts a character outside the Basic Multilingual
Plane as two (UTF-16 units), which is detected from the project's origin or from positions that fit only so.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from service.ingest import DataFileError
from service.ingest.codebook import PROJECT_NS, Code, Codebook, normal_guid
from service.ingest.crosswalk import COUNTED, CodeMapping, OwnCodes, crosswalk_files, read_crosswalk
from service.ingest.resolve import normalise
from service.ingest.sheets import Row
from service.ingest.studygraph import SAMV, StudyGraph
from service.ingest.validation import Origin
from service.namespaces import ID

P = f"{{{PROJECT_NS}}}"
SUFFIX = ".qdpx"
EXPORT_HINT = "export the project from your program as a REFI-QDA project (.qdpx)"
ORGNR = re.compile(r"\b(\d{6})-?(\d{4})\b")


def project_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == SUFFIX)


def own_scheme(study_id: str) -> URIRef:
    """The SKOS scheme of a study's own codebook."""
    return URIRef(f"{ID}scheme/study/{study_id}")


def own_concept(study_id: str, guid: str) -> URIRef:
    """One code of a study's own codebook, named by its GUID (kept as skos:notation too)."""
    return URIRef(f"{ID}concept/study/{study_id}/{normal_guid(guid).lower()}")


@dataclass
class _Code:
    guid: str
    name: str
    description: str
    parent: str | None


@dataclass
class _Selection:
    guid: str
    source: str  # the source's name
    activity: str  # the focus group or case it names: the source's variable `source`, else its name
    text: str | None  # None when the positions fall outside the source's text
    location: str
    user: str | None
    codes: list[str]  # GUIDs, as the codings name them


@dataclass
class _Project:
    path: Path
    codes: dict[str, _Code] = field(default_factory=dict)
    selections: list[_Selection] = field(default_factory=list)


def read_projects(folder: Path, study: StudyGraph, codebook: Codebook) -> list[Row]:
    """The rows of every project in the folder (after the folder's crosswalks are read, which map own codes to
    ours); the own codebook and the mappings are added to `study`, every problem to study.problems."""
    projects = [p for p in (_read(path, study) for path in project_files(folder)) if p is not None]
    roles = _Roles(study, codebook, projects)
    for path in crosswalk_files(folder):
        roles.mapped(read_crosswalk(path, roles.own_codes(), roles.targets, study))
    roles.add_scheme()
    return [row for project in projects for row in roles.rows(project)]


# --- Reading the XML --------------------------------------------------------------------------------------------


def _read(path: Path, study: StudyGraph) -> _Project | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "project.qde" not in names:
                study.problems.append(
                    DataFileError(path, f"holds no project.qde, so it is no REFI-QDA project; {EXPORT_HINT}")
                )
                return None
            root = ET.fromstring(archive.read("project.qde"))
            files = {name: archive.read(name) for name in names if name.startswith("Sources/")}
    except zipfile.BadZipFile:
        study.problems.append(DataFileError(path, f"is not a REFI-QDA project (not a zip archive); {EXPORT_HINT}"))
        return None
    except ET.ParseError as error:
        line, column = error.position
        message = f"project.qde is not valid XML (line {line}, column {column}): {error.msg}; {EXPORT_HINT} again"
        study.problems.append(DataFileError(path, message))
        return None
    except OSError as error:
        study.problems.append(DataFileError(path, f"cannot be read ({error.strerror})"))
        return None
    if root.tag != P + "Project":
        message = f"project.qde holds <{root.tag}>, not a REFI-QDA <Project> ({PROJECT_NS}); {EXPORT_HINT}"
        study.problems.append(DataFileError(path, message))
        return None
    return _ProjectReader(path, root, files, study).read()


class _ProjectReader:
    def __init__(self, path: Path, root: ET.Element, files: dict[str, bytes], study: StudyGraph) -> None:
        self.path, self.root, self.files, self.s = path, root, files, study
        self.project = _Project(path)
        self.utf16 = "nvivo" in root.get("origin", "").lower()
        self.users = {normal_guid(u.get("guid", "")): u.get("name", "") for u in root.iter(P + "User")}
        self.variables = {normal_guid(v.get("guid", "")): v.get("name", "") for v in root.iter(P + "Variable")}

    def problem(self, message: str, place: str | None = None) -> None:
        self.s.problems.append(DataFileError(self.path, message, place=place))

    def read(self) -> _Project:
        codes = self.root.find(f"{P}CodeBook/{P}Codes")
        for code in codes.findall(P + "Code") if codes is not None else []:
            self._code(code, None)
        sources = self.root.find(P + "Sources")
        for source in list(sources) if sources is not None else []:
            if source.tag in (P + "TextSource", P + "PDFSource"):
                self._source(source)
        return self.project

    def _code(self, element: ET.Element, parent: str | None) -> None:
        guid = normal_guid(element.get("guid", ""))
        description = element.findtext(P + "Description") or ""
        self.project.codes[guid] = _Code(guid, element.get("name", "").strip(), description.strip(), parent)
        for child in element.findall(P + "Code"):
            self._code(child, guid)

    def _source(self, source: ET.Element) -> None:
        name = source.get("name", "").strip()
        activity = name
        for value in source.findall(P + "VariableValue"):
            ref = value.find(P + "VariableRef")
            variable = self.variables.get(normal_guid(ref.get("targetGUID", ""))) if ref is not None else None
            if variable is not None and normalise(variable) == "source" and value.findtext(P + "TextValue"):
                activity = (value.findtext(P + "TextValue") or "").strip()
        if source.tag == P + "PDFSource":
            for selection in source.findall(P + "PDFSelection"):
                representation = selection.find(P + "Representation")
                text = self._text(representation, name) if representation is not None else ""
                location = f"{name}, s. {selection.get('page', '')}"
                self._selection(selection, name, activity, (text or "").strip(), location)
            return
        text = self._text(source, name)
        selections = source.findall(P + "PlainTextSelection")
        if text is None:
            return
        points = [(self._int(s, "startPosition"), self._int(s, "endPosition")) for s in selections]
        utf16 = self.utf16 or any(end > len(text) for start, end in points if start is not None and end is not None)
        units = text.encode("utf-16-le")
        for selection, (start, end) in zip(selections, points, strict=True):
            quote = _cut(text, units, start, end, utf16)
            if quote is None:
                length = f"{len(units) // 2} UTF-16 units" if utf16 else f"{len(text)} characters"
                self.problem(
                    f"positions {start}\u2013{end} are outside the text of source '{name}' ({length}); export the "
                    "project again, or remove the selection and code it anew",
                    _place(selection.get("guid", ""), None),
                )
                continue
            begin = len(units[: 2 * start].decode("utf-16-le")) if utf16 and start is not None else start
            self._selection(selection, name, activity, quote, f"{name}: {begin}\u2013{(begin or 0) + len(quote)}")

    @staticmethod
    def _int(element: ET.Element, attribute: str) -> int | None:
        try:
            return int(element.get(attribute, ""))
        except ValueError:
            return None

    def _text(self, source: ET.Element, name: str) -> str | None:
        inline = source.find(P + "PlainTextContent")
        if inline is not None:
            return inline.text or ""
        path = source.get("plainTextPath", "")
        member = "Sources/" + path.removeprefix("internal://")
        if not path.startswith("internal://") or member not in self.files:
            where = f"'{path}'" if path else "none"
            self.problem(
                f"source '{name}' has no plain text in the archive (plainTextPath {where}); {EXPORT_HINT} with "
                "its sources included"
            )
            return None
        try:
            return self.files[member].decode("utf-8-sig")
        except UnicodeDecodeError:
            self.problem(f"the plain text of source '{name}' ({member}) is not UTF-8; {EXPORT_HINT} again")
            return None

    def _selection(self, element: ET.Element, source: str, activity: str, text: str, location: str) -> None:
        codings = element.findall(P + "Coding")
        if not codings:
            return  # a selection nobody coded is no observation
        users = [c.get("creatingUser") for c in codings] + [element.get("creatingUser")]
        user = next((self.users.get(normal_guid(u)) for u in users if u and self.users.get(normal_guid(u))), None)
        codes = [normal_guid(ref.get("targetGUID", "")) for c in codings for ref in c.findall(P + "CodeRef")]
        guid = normal_guid(element.get("guid", ""))
        self.project.selections.append(_Selection(guid, source, activity, text, location, user, codes))


def _cut(text: str, units: bytes, start: int | None, end: int | None, utf16: bool) -> str | None:
    """The selected text, or None when the positions do not fit the text."""
    if start is None or end is None or not 0 <= start < end:
        return None
    if not utf16:
        return text[start:end] if end <= len(text) else None
    if 2 * end > len(units):
        return None
    try:
        return units[2 * start : 2 * end].decode("utf-16-le")
    except UnicodeDecodeError:  # a position inside a surrogate pair
        return None


def _place(guid: str, text: str | None) -> str:
    """How a message names a selection: its GUID and the first words of its text."""
    words = (text or "").split()
    excerpt = " ".join(words[:6]) + (" …" if len(words) > 6 else "")
    return f"selection {normal_guid(guid)}" + (f' ("{excerpt}")' if excerpt else "")


# --- What each code means -----------------------------------------------------------------------------------------


class _Roles:
    """What each code of the study's projects gives a selection: a value of ours, a partner, a collaboration, or
    a concept of the study's own codebook."""

    def __init__(self, study: StudyGraph, codebook: Codebook, projects: list[_Project]) -> None:
        self.s, self.codebook, self.projects = study, codebook, projects
        self.codes: dict[str, _Code] = {}
        for project in projects:
            for guid, code in project.codes.items():
                self.codes.setdefault(guid, code)
        self.targets = {c.iri: c.name("sv") for c in codebook.by_guid.values() if not c.category}
        self.mappings: list[CodeMapping] = []
        self.actor_types = {c.iri for c in codebook.by_guid.values() if c.column == "partner_type" and not c.category}
        self.kommunkod = {
            c.iri: c.iri.removeprefix(ID + "kommun/")
            for c in codebook.by_guid.values()
            if c.column == "municipality" and not c.category
        }

    def ours(self, guid: str | None) -> Code | None:
        return self.codebook.by_guid.get(guid) if guid else None

    def actor_type_of(self, guid: str) -> URIRef | None:
        """The actor type a code's children are partners of: one of ours, or an own code mapped to one."""
        code = self.ours(guid)
        if code is not None:
            return code.iri if code.iri in self.actor_types else None
        mapped = {m.object for m in self.mappings if m.subject == self.iri(guid) and m.predicate in COUNTED}
        return next(iter(sorted(mapped & self.actor_types)), None)

    def role(self, guid: str) -> tuple[str, str | URIRef]:
        """('ours', column) | ('value', column) for a non-GUID child of our category | ('partner', actor type) |
        ('own', IRI)."""
        if guid in self.codebook.by_guid:
            return "ours", self.codebook.by_guid[guid].column
        code = self.codes[guid]
        parent = self.ours(code.parent)
        if parent is not None and parent.category and parent.column != "partner_type":
            return "value", parent.column
        if code.parent is not None and (actor_type := self.actor_type_of(code.parent)) is not None:
            return "partner", actor_type
        return "own", self.iri(guid)

    def iri(self, guid: str) -> URIRef:
        return own_concept(self.s.study_id, guid)

    def own_codes(self) -> OwnCodes:
        own = [g for g in self.codes if self.role(g)[0] == "own"]
        by_name: dict[str, list[URIRef]] = {}
        for guid in own:
            by_name.setdefault(normalise(self.codes[guid].name), []).append(self.iri(guid))
        return OwnCodes({g: self.iri(g) for g in own}, by_name)

    def mapped(self, mappings: list[CodeMapping]) -> None:
        self.mappings += mappings

    def add_scheme(self) -> None:
        """The study's own codebook as a SKOS scheme: every code that is not ours and names no partner,
        collaboration or value of ours."""
        own = [g for g in self.codes if self.role(g)[0] == "own"]
        if not own:
            return
        scheme, language = own_scheme(self.s.study_id), self.s.language
        self.s.individual(scheme, SKOS.ConceptScheme, Origin(self.projects[0].path, "the study's own codebook"))
        self.s.add(
            (scheme, SKOS.prefLabel, Literal(f"Kodbok: {self.s.title}", lang="sv")),
            (scheme, SKOS.prefLabel, Literal(f"Codebook: {self.s.title}", lang="en")),
            (scheme, DCTERMS.source, Literal(", ".join(p.path.name for p in self.projects))),
            (self.s.subject, SAMV.codebook, scheme),
        )
        for guid in own:
            code, iri = self.codes[guid], self.iri(guid)
            path = next(p.path for p in self.projects if guid in p.codes)
            self.s.individual(iri, SKOS.Concept, Origin(path, f"code '{code.name}' ({guid})"))
            self.s.add(
                (iri, SKOS.inScheme, scheme),
                (iri, SKOS.prefLabel, Literal(code.name, lang=language)),
                (iri, SKOS.notation, Literal(guid)),
            )
            if code.description:
                self.s.add((iri, SKOS.definition, Literal(code.description, lang=language)))
            if code.parent is not None and self.role(code.parent)[0] == "own":
                self.s.add((iri, SKOS.broader, self.iri(code.parent)))
            else:
                self.s.add((iri, SKOS.topConceptOf, scheme))

    def rows(self, project: _Project) -> list[Row]:
        rows = []
        for number, selection in enumerate(project.selections, start=1):
            row = self._row(project, number, selection)
            if row is not None:
                rows.append(row)
        return rows

    def _row(self, project: _Project, number: int, sel: _Selection) -> Row | None:
        place = _place(sel.guid, sel.text)
        problems: list[str] = []
        cells: dict[str, list[str]] = {}
        municipalities: dict[str, None] = {}
        partners: list[tuple[str, str, str]] = []
        study_codes: list[URIRef] = []
        for guid in dict.fromkeys(sel.codes):
            if guid not in self.codes and guid not in self.codebook.by_guid:
                problems.append(
                    f"a coding points to code {guid}, which is not in the project's codebook; {EXPORT_HINT} again"
                )
                continue
            kind, what = self.role(guid)
            ours = self.ours(guid)
            if kind == "ours" and ours is not None:
                if ours.category or ours.column == "partner_type":
                    level = "a category" if ours.category else "an actor type"
                    problems.append(f"code '{ours.name('sv')}' is {level}; code with a code under it instead")
                elif ours.column == "municipality":
                    municipalities[self.kommunkod[ours.iri]] = None
                else:
                    cells.setdefault(ours.column, []).append(ours.name("sv"))
            elif kind == "value":
                text = self.codes[guid].name
                if what == "municipality":
                    municipalities[text] = None
                else:
                    cells.setdefault(str(what), []).append(text)
            elif kind == "partner":
                code = self.codes[guid]
                orgnr = ORGNR.search(code.description)
                type_name = next(c.name("sv") for c in self.codebook.by_guid.values() if c.iri == what)
                partners.append((code.name, type_name, f"{orgnr[1]}-{orgnr[2]}" if orgnr else ""))
            else:
                iri = self.iri(guid)
                study_codes.append(iri)
                for m in self.mappings:
                    if (
                        m.subject == iri
                        and m.predicate in (SKOS.exactMatch, SKOS.closeMatch)
                        and m.object in self.kommunkod
                    ):
                        municipalities[self.kommunkod[m.object]] = None
        if len(municipalities) > 1:
            named = ", ".join(f"'{m}'" for m in municipalities)
            problems.append(
                f"is coded with {len(municipalities)} municipalities ({named}); code one municipality per "
                "selection, and the others as partners (a code under the actor type kommun)"
            )
        elif not municipalities:
            problems.append("is coded with no municipality; code it with one (a code under 'kommuner')")
        if len(cells.get("collaboration", [])) > 1:
            problems.append("is coded with more than one collaboration; a selection describes one")
        if not sel.user:
            problems.append("names no user who made its coding or the selection; set the coder in your program")
        for message in problems:
            self.s.problems.append(DataFileError(project.path, message, row=number, place=place))
        if problems:
            return None
        values = {column: "|".join(texts) for column, texts in cells.items()}
        values.update(
            observation=sel.guid,
            source=sel.activity,
            municipality=next(iter(municipalities)),
            partner="|".join(p[0] for p in partners),
            partner_type="|".join(p[1] for p in partners),
            partner_orgnr="|".join(p[2] for p in partners) if any(p[2] for p in partners) else "",
            quote=sel.text or "",
            location=sel.location,
            coder=sel.user or "",
        )
        return Row(project.path, number, values, place=place, study_codes=tuple(study_codes))
