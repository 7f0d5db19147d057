"""A loaded study written back as a REFI-QDA project (`.qdpx`), to open in NVivo, ATLAS.ti or MAXQDA, or to load
again (service/ingest/refiqda.py reads it back to the same graph; tests/test_refiqda_export.py says what differs).

The graph keeps each observation's quote and, for a study that came from a project, where in its source the quote
stood (`FG1: 120\u2013187`), but not the whole text. So each source's text is rebuilt with the quotes at their recorded
positions and spaces between them; observations without a position (coding-sheet studies) are joined into one text
per focus group or case, each selection at its quote. Each selection is coded with what the graph says of its
observation: our concepts (codes of our codebook, by GUID), the study's own codes (their GUIDs, kept as
skos:notation), its collaboration (a code under 'samverkan' when it is named) and the collaboration's
participants: one municipality (a code under 'kommuner') and the others as partners (codes under their actor
types, the organisationsnummer in the description). Which participant was a row's own municipality is not in the
graph; for a collaboration of one observation its name says it (`Västerås \u2013 Mälarstrands högskola`), for a named
one the first municipality is taken (every selection then names all participants, which gives the same graph).
"""

from __future__ import annotations

import io
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS

from service.export import quads
from service.ingest.codebook import PROJECT_NS, Code, Codebook, normal_guid
from service.ingest.resolve import ACTOR_TYPES, Resolver, Unresolved
from service.ingest.schema import to_rdflib
from service.ingest.study import CONCEPT_COLUMNS
from service.ingest.studygraph import SAMV
from service.namespaces import GRAPH, ID, ONTOLOGY
from service.store import Store

P = f"{{{PROJECT_NS}}}"
ORIGIN = "Samverkan KG"
POSITION = re.compile(r"^(?P<source>.+): (?P<start>\d+)\u2013(?P<end>\d+)$")
GUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
LABEL_DASH = " \u2013 "
# Which of two actor classes names a partner's type when it has both (a kommunalt bolag is a company too).
MORE_SPECIFIC = {"MunicipalCompany": "Company"}


@dataclass(frozen=True)
class ExportedProject:
    """The project's bytes, how many observations it holds, and what of the study it could not carry."""

    data: bytes
    observations: int
    notes: list[str]


@dataclass
class _Selection:
    guid: str
    quote: str
    user: str
    codes: list[str]  # GUIDs, in the order they are coded
    start: int = 0
    description: str = ""  # the observation's location when it is no position in the rebuilt text


@dataclass
class _Source:
    name: str
    activity: str
    chars: list[str] = field(default_factory=list)  # the rebuilt text, one code point each
    filled: list[bool] = field(default_factory=list)
    selections: list[_Selection] = field(default_factory=list)

    def place(self, quote: str, start: int) -> bool:
        """Put a quote at its position, if what is already there agrees with it."""
        end = start + len(quote)
        if end > len(self.chars):
            self.chars += [" "] * (end - len(self.chars))
            self.filled += [False] * (end - len(self.filled))
        if any(self.filled[i] and self.chars[i] != quote[i - start] for i in range(start, end)):
            return False
        self.chars[start:end] = list(quote)
        self.filled[start:end] = [True] * len(quote)
        return True

    def append(self, quote: str) -> int:
        """Put a quote after the text (a blank line between), returning where it starts."""
        if self.chars:
            self.chars += ["\n", "\n"]
            self.filled += [False, False]
        start = len(self.chars)
        self.place(quote, start)
        return start


def export_project(graph: Graph, study_id: str, codebook: Codebook, resolver: Resolver) -> ExportedProject:
    """The study of `graph` (its asserted graph) as a REFI-QDA project."""
    return _Writer(graph, study_id, codebook, resolver).write()


def stored_study(store: Store, study_id: str) -> Graph:
    """A loaded study's asserted graph (graph/study/{id}), empty when the store has no such study."""
    return to_rdflib([quad.triple for quad in quads(store, f"{GRAPH}study/{study_id}")])


def _guid(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key)).upper()


class _Writer:
    def __init__(self, graph: Graph, study_id: str, codebook: Codebook, resolver: Resolver) -> None:
        self.g, self.codebook, self.resolver = graph, codebook, resolver
        self.study = URIRef(f"{ID}study/{study_id}")
        self.notes: list[str] = []
        self.users: dict[str, str] = {}  # GUID -> name
        self.used: dict[str, None] = {}  # GUIDs of our codes the selections use
        self.added: dict[str, list[tuple[str, str, str]]] = {}  # parent GUID -> [(GUID, name, description)]
        self.alternatives_written: set[URIRef] = set()
        self.ours_by_iri = {code.iri: code for code in codebook.by_guid.values()}
        self.parent = {child.guid: code.guid for code in codebook.by_guid.values() for child in code.children}

    # --- what the graph says ---------------------------------------------------------------------------------

    def text(self, subject: object, predicate: URIRef) -> str:
        value = self.g.value(subject, predicate) if isinstance(subject, URIRef) else None
        return str(value) if value is not None else ""

    def iris(self, subject: URIRef, predicate: URIRef) -> list[URIRef]:
        return sorted(URIRef(str(o)) for o in self.g.objects(subject, predicate))

    def actor_type(self, actor: URIRef) -> Code | None:
        """Our actor-type code for an actor: its most specific class among the coding sheet's actor types."""
        if actor.startswith(ID + "kommun/"):
            return self.ours_by_iri.get(SAMV.Municipality)
        names = {str(t).removeprefix(ONTOLOGY) for t in self.g.objects(actor, RDF.type)} & set(ACTOR_TYPES)
        names -= {general for specific, general in MORE_SPECIFIC.items() if specific in names}
        return next((self.ours_by_iri[URIRef(ONTOLOGY + n)] for n in sorted(names)), None)

    def municipality_name(self, municipality: URIRef) -> str:
        code = self.ours_by_iri.get(municipality)
        return code.name("sv") if code is not None else municipality.removeprefix(ID + "kommun/")

    def spellings(self, actor: URIRef) -> list[str]:
        """An organisation's name and its other spellings (for a municipality, its name)."""
        if actor.startswith(ID + "kommun/"):
            return [self.municipality_name(actor)]
        return [self.text(actor, RDFS.label), *sorted(str(a) for a in self.g.objects(actor, SKOS.altLabel))]

    def is_spelling(self, actor: URIRef, text: str) -> bool:
        if actor.startswith(ID + "kommun/"):
            try:
                return self.resolver.municipality(text) == actor
            except Unresolved:
                return False
        return text in self.spellings(actor)

    # --- codes -------------------------------------------------------------------------------------------------

    def ours(self, iri: URIRef) -> str:
        guid = self.ours_by_iri[iri].guid
        self.use(guid)
        return guid

    def use(self, guid: str) -> None:
        """One of our codes goes into the project, with the codes above it."""
        while guid not in self.used:
            self.used[guid] = None
            if guid not in self.parent:
                break
            guid = self.parent[guid]

    def added_code(self, parent: str, key: str, name: str, description: str = "") -> str:
        """A code added under one of ours (a partner, a collaboration, a municipality by another name)."""
        guid = _guid(key)
        siblings = self.added.setdefault(parent, [])
        if all(g != guid for g, _, _ in siblings):
            siblings.append((guid, name, description))
        self.use(parent)
        return guid

    def partner(self, actor: URIRef, spelling: str) -> str | None:
        kind = self.actor_type(actor)
        if kind is None:
            self.notes.append(f"{actor} has no actor type of the coding sheet; it is left out")
            return None
        orgnr = self.text(actor, SAMV.organisationsnummer)
        description = f"Organisationsnummer {orgnr}" if orgnr else ""
        return self.added_code(self.ours(kind.iri), f"{actor}#partner/{spelling}", spelling, description)

    def participants(self, collaboration: URIRef) -> list[str]:
        """The municipality code and the partner codes of a selection describing `collaboration`."""
        everyone = self.iris(collaboration, SAMV.participant)
        label = self.text(collaboration, RDFS.label)
        if "/observation/" in collaboration and LABEL_DASH in label:
            found = self._from_label(everyone, label)
            if found is not None:
                return found
            self.notes.append(f"the name of {collaboration} ('{label}') does not list its participants")
        municipalities = [p for p in everyone if p.startswith(ID + "kommun/")]
        if not municipalities:
            self.notes.append(f"{collaboration} has no municipality; its observations are left out")
            return []
        codes = [self.ours(municipalities[0])]
        for actor in (p for p in everyone if p != municipalities[0]):
            names = self.spellings(actor)
            # An organisation's other spellings are written once, after its name, where they change no label.
            wanted = names if actor not in self.alternatives_written else names[:1]
            self.alternatives_written.add(actor)
            codes += [code for name in wanted if (code := self.partner(actor, name)) is not None]
        return codes

    def _from_label(self, everyone: list[URIRef], label: str) -> list[str] | None:
        """The codes that give a one-observation collaboration its name back: municipality, dash, partners."""
        written, rest = label.split(LABEL_DASH, 1)
        try:
            municipality = self.resolver.municipality(written)
        except Unresolved:
            return None
        others = [p for p in everyone if p != municipality]
        complete = (p for p in self._partitions(rest.split(", "), others) if {a for a, _ in p} == set(others))
        names = next(complete, None)
        if municipality not in everyone or names is None:
            return None
        if written == municipality.removeprefix(ID + "kommun/"):
            codes = [self.ours(municipality)]
        else:  # the sheet named it otherwise (Västerås stad): a code of that name under 'kommuner'
            category = self.ours(URIRef(ID + "kommun"))
            codes = [self.added_code(category, f"{municipality}#name/{written}", written)]
        return codes + [code for actor, name in names if (code := self.partner(actor, name)) is not None]

    def _partitions(self, parts: list[str], actors: list[URIRef]) -> Iterator[list[tuple[URIRef, str]]]:
        """Every way to join names split at ', ' back into spellings of these actors."""
        if not parts:
            yield []
        for cut in range(1, len(parts) + 1):
            name = ", ".join(parts[:cut])
            for actor in actors:
                if self.is_spelling(actor, name):
                    for rest in self._partitions(parts[cut:], actors):
                        yield [(actor, name), *rest]

    # --- observations into sources -------------------------------------------------------------------------------

    def write(self) -> ExportedProject:
        observations = sorted(URIRef(str(o)) for o in self.g.subjects(SAMV.inStudy, self.study))
        observations = [o for o in observations if (o, RDF.type, SAMV.CodedObservation) in self.g]
        sources: dict[str, _Source] = {}
        later: list[tuple[URIRef, _Selection, str]] = []
        written = 0
        for obs in observations:
            selection, activity = self.selection(obs)
            if selection is None:
                continue
            written += 1
            place = POSITION.match(self.text(obs, SAMV.sourceLocation))
            if place and int(place["end"]) - int(place["start"]) == len(selection.quote):
                source = sources.setdefault(place["source"], _Source(place["source"], activity))
                if source.activity == activity and source.place(selection.quote, int(place["start"])):
                    selection.start = int(place["start"])
                    source.selections.append(selection)
                    continue
            selection.description = self.text(obs, SAMV.sourceLocation)
            later.append((obs, selection, activity))
        for _, selection, activity in later:
            source = sources.setdefault(activity, _Source(activity, activity))
            selection.start = source.append(selection.quote)
            source.selections.append(selection)
        collaborations = set(self.g.objects(None, SAMV.describes))
        for prop, what in ((SAMV.leadActor, "lead actors"), (SAMV.startDate, "periods")):
            count = sum(1 for c in collaborations if self.g.value(c, prop) is not None)
            if count:
                self.notes.append(f"REFI-QDA has no place for {what}: those of {count} collaborations are left out")
        return ExportedProject(self.archive(list(sources.values())), written, self.notes)

    def selection(self, obs: URIRef) -> tuple[_Selection | None, str]:
        identifier = self.text(obs, DCTERMS.identifier)
        quote = self.text(obs, SAMV.quote)
        activity = self.text(self.g.value(obs, PROV.wasGeneratedBy), DCTERMS.identifier)
        collaboration = self.g.value(obs, SAMV.describes)
        if not quote:
            self.notes.append(f"observation '{identifier}' has no quote, so no text to select; it is left out")
            return None, activity
        if not isinstance(collaboration, URIRef):
            self.notes.append(f"observation '{identifier}' describes no collaboration; it is left out")
            return None, activity
        coder = self.g.value(obs, SAMV.coder)
        user = self.text(coder, RDFS.label) if isinstance(coder, URIRef) else ""
        user_guid = _guid(str(coder)) if user else ""
        if user:
            self.users[user_guid] = user
        codes = self.participants(collaboration)
        if not codes:
            return None, activity
        if "/observation/" not in collaboration:
            category = self.ours(URIRef(ONTOLOGY + "Collaboration"))
            codes.append(self.added_code(category, str(collaboration), self.text(collaboration, RDFS.label)))
        for _, prop in CONCEPT_COLUMNS.values():
            codes += [self.ours(c) for c in self.iris(obs, prop) if c in self.ours_by_iri]
        codes += [normal_guid(self.text(c, SKOS.notation)) for c in self.iris(obs, SAMV.studyCode)]
        guid = normal_guid(identifier) if GUID.match(normal_guid(identifier)) else _guid(str(obs))
        return _Selection(guid, quote, user_guid, list(dict.fromkeys(codes))), activity

    # --- the XML and the archive -------------------------------------------------------------------------------

    def archive(self, sources: list[_Source]) -> bytes:
        ET.register_namespace("", PROJECT_NS)
        title = self.text(self.study, DCTERMS.title) or str(self.study)
        root = ET.Element(P + "Project", {"name": title, "origin": ORIGIN})
        users = ET.SubElement(root, P + "Users")
        for guid, name in sorted(self.users.items(), key=lambda item: item[1]):
            ET.SubElement(users, P + "User", {"guid": guid, "name": name})
        codes = ET.SubElement(ET.SubElement(root, P + "CodeBook"), P + "Codes")
        for code in self.codebook.top:
            if code.guid in self.used:
                codes.append(self.our_element(code))
        for concept in self.own_top():
            codes.append(self.own_element(concept))
        variable = _guid(f"{self.study}#variable/source")
        if any(s.name != s.activity for s in sources):
            variables = ET.SubElement(root, P + "Variables")
            ET.SubElement(variables, P + "Variable", {"guid": variable, "name": "source", "typeOfVariable": "Text"})
        texts: dict[str, str] = {}
        sources_element = ET.SubElement(root, P + "Sources")
        for source in sorted(sources, key=lambda s: s.name):
            guid = _guid(f"{self.study}#source/{source.name}")
            texts[f"Sources/{guid}.txt"] = "".join(source.chars)
            attributes = {"guid": guid, "name": source.name, "plainTextPath": f"internal://{guid}.txt"}
            element = ET.SubElement(sources_element, P + "TextSource", attributes)
            for selection in sorted(source.selections, key=lambda s: (s.start, s.guid)):
                end = selection.start + len(selection.quote)
                attributes = {"guid": selection.guid, "startPosition": str(selection.start), "endPosition": str(end)}
                if selection.user:
                    attributes["creatingUser"] = selection.user
                selection_element = ET.SubElement(element, P + "PlainTextSelection", attributes)
                if selection.description:
                    ET.SubElement(selection_element, P + "Description").text = selection.description
                for target in selection.codes:
                    coding = {"guid": _guid(f"{selection.guid}#{target}")}
                    if selection.user:
                        coding["creatingUser"] = selection.user
                    coding_element = ET.SubElement(selection_element, P + "Coding", coding)
                    ET.SubElement(coding_element, P + "CodeRef", {"targetGUID": target})
            if source.name != source.activity:
                value = ET.SubElement(element, P + "VariableValue")
                ET.SubElement(value, P + "VariableRef", {"targetGUID": variable})
                ET.SubElement(value, P + "TextValue").text = source.activity
        ET.SubElement(root, P + "Description").text = title
        ET.indent(root)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_entry("project.qde"), ET.tostring(root, encoding="utf-8", xml_declaration=True))
            for name, text in texts.items():
                archive.writestr(_entry(name), text.encode("utf-8"))
        return out.getvalue()

    def our_element(self, code: Code) -> ET.Element:
        """One of our codes with the children the selections use, and the codes added under it."""
        attributes = {"guid": code.guid, "name": code.name("sv"), "isCodable": "false" if code.category else "true"}
        element = ET.Element(P + "Code", attributes)
        description = code.descriptions.get("sv")
        if description:
            ET.SubElement(element, P + "Description").text = description
        for child in code.children:
            if child.guid in self.used:
                element.append(self.our_element(child))
        for guid, name, text in self.added.get(code.guid, []):
            added = ET.SubElement(element, P + "Code", {"guid": guid, "name": name, "isCodable": "true"})
            if text:
                ET.SubElement(added, P + "Description").text = text
        return element

    def own_top(self) -> list[URIRef]:
        scheme = self.g.value(self.study, SAMV.codebook)
        concepts = [URIRef(str(c)) for c in self.g.subjects(SKOS.inScheme, scheme)] if scheme is not None else []
        return sorted(c for c in concepts if self.g.value(c, SKOS.broader) is None)

    def own_element(self, concept: URIRef) -> ET.Element:
        """A code of the study's own codebook, with the codes below it."""
        attributes = {
            "guid": normal_guid(self.text(concept, SKOS.notation)),
            "name": self.text(concept, SKOS.prefLabel),
            "isCodable": "true",
        }
        element = ET.Element(P + "Code", attributes)
        if self.text(concept, SKOS.definition):
            ET.SubElement(element, P + "Description").text = self.text(concept, SKOS.definition)
        for child in sorted(URIRef(str(c)) for c in self.g.subjects(SKOS.broader, concept)):
            element.append(self.own_element(child))
        return element


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed date, so the same study gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=(2019, 3, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
