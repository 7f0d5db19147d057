"""Our vocabularies as a REFI-QDA codebook: what a researcher imports into NVivo, ATLAS.ti or MAXQDA before coding,
and what a project coded with it is read back against.

One top-level code per category: the four dimensions (samverkansform, mål, styrmedel, sakområde, each with its
concepts), actor types (a child per actor type of the coding sheet), municipalities (a child per municipality of
the reference list) and collaborations (coders add a child per named collaboration). Each code's GUID is derived
from its IRI (UUID 5), so two exports are byte-identical and an imported project's codes are recognised by GUID
whatever the program did to their names.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS, SKOS

from service.ingest.resolve import ACTOR_TYPES
from service.namespaces import ID, ONTOLOGY

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"
LANGUAGES = ("sv", "en")

# The category codes: the coding-sheet column their codes fill, the IRI their GUID derives from, their labels
# and what a coder does with them.
DIMENSIONS = {"form": "samverkansform", "goals": "mal", "governance_tools": "styrmedel", "topic": "sakomrade"}
ACTOR_TYPE_CATEGORY = URIRef(ONTOLOGY + "Actor")
MUNICIPALITY_CATEGORY = URIRef(ID + "kommun")
COLLABORATION_CATEGORY = URIRef(ONTOLOGY + "Collaboration")
_CATEGORY_TEXT = {
    "partner_type": (
        {"sv": "aktörstyper", "en": "actor types"},
        {
            "sv": "Lägg till en kod under rätt aktörstyp för varje partner, med partnerns namn (och gärna dess "
            "organisationsnummer, NNNNNN-NNNN, i kodens beskrivning).",
            "en": "Add a code under the right actor type for each partner, named as the partner (and preferably "
            "with its organisationsnummer, NNNNNN-NNNN, in the code's description).",
        },
    ),
    "municipality": (
        {"sv": "kommuner", "en": "municipalities"},
        {
            "sv": "Koda varje markering med exakt en kommun: den kommun observationen gäller.",
            "en": "Code each selection with exactly one municipality: the one the observation is about.",
        },
    ),
    "collaboration": (
        {"sv": "samverkan", "en": "collaborations"},
        {
            "sv": "Lägg till en kod per namngiven samverkan; markeringar med samma kod beskriver samma samverkan. "
            "En markering utan någon kod här är en samverkan för sig.",
            "en": "Add a code per named collaboration; selections with the same code describe the same "
            "collaboration. A selection with no code here is a collaboration of its own.",
        },
    ),
}


def guid_of(iri: str) -> str:
    """The REFI-QDA GUID of one of our codes: UUID 5 of its IRI, upper case as ATLAS.ti and MAXQDA write them."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, iri)).upper()


def normal_guid(text: str) -> str:
    """A GUID as compared: braces and case ignored (programs write {…}, upper or lower case)."""
    return text.strip().strip("{}").upper()


@dataclass(frozen=True)
class Code:
    """One of our codes: the sheet column it fills, the IRI it stands for (a concept, an actor type, a municipality,
    or for a category its scheme or class), its names and descriptions by language, and its children."""

    iri: URIRef
    column: str
    category: bool
    names: dict[str, str]
    descriptions: dict[str, str] = field(default_factory=dict)
    children: tuple[Code, ...] = ()

    @property
    def guid(self) -> str:
        return guid_of(str(self.iri))

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("sv") or next(iter(self.names.values()))


def _texts(graph: Graph, subject: URIRef, prop: URIRef) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in sorted(graph.objects(subject, prop), key=str):
        if isinstance(value, Literal):
            found.setdefault(value.language or "sv", str(value))
    return found


class Codebook:
    """Our codebook, read from the ontology, the vocabularies and the reference list (Schema.graph)."""

    def __init__(self, graph: Graph) -> None:
        self.top = tuple(
            [self._dimension(graph, column, scheme) for column, scheme in DIMENSIONS.items()]
            + [self._actor_types(graph), self._municipalities(graph), self._collaborations()]
        )
        self.by_guid: dict[str, Code] = {}
        stack = list(self.top)
        while stack:
            code = stack.pop()
            self.by_guid[code.guid] = code
            stack += code.children

    @staticmethod
    def _dimension(graph: Graph, column: str, scheme: str) -> Code:
        scheme_iri = URIRef(f"{ID}scheme/{scheme}")
        concepts = sorted(URIRef(str(c)) for c in graph.subjects(SKOS.inScheme, scheme_iri))
        broader = {c: [b for b in graph.objects(c, SKOS.broader) if b in concepts] for c in concepts}

        def concept(iri: URIRef) -> Code:
            narrower = tuple(concept(c) for c in concepts if iri in broader[c])
            names, descriptions = _texts(graph, iri, SKOS.prefLabel), _texts(graph, iri, SKOS.definition)
            return Code(iri, column, False, names, descriptions, narrower)

        children = tuple(concept(c) for c in concepts if not broader[c])
        names, descriptions = _texts(graph, scheme_iri, SKOS.prefLabel), _texts(graph, scheme_iri, SKOS.definition)
        return Code(scheme_iri, column, True, names, descriptions, children)

    @staticmethod
    def _actor_types(graph: Graph) -> Code:
        children = tuple(
            Code(
                URIRef(ONTOLOGY + name),
                "partner_type",
                False,
                _texts(graph, URIRef(ONTOLOGY + name), RDFS.label),
                _texts(graph, URIRef(ONTOLOGY + name), SKOS.definition),
            )
            for name in ACTOR_TYPES
        )
        names, descriptions = _CATEGORY_TEXT["partner_type"]
        return Code(ACTOR_TYPE_CATEGORY, "partner_type", True, names, descriptions, children)

    @staticmethod
    def _municipalities(graph: Graph) -> Code:
        prefix = ID + "kommun/"
        municipalities = sorted(URIRef(str(s)) for s in set(graph.subjects(RDFS.label)) if str(s).startswith(prefix))
        children = tuple(
            Code(
                iri,
                "municipality",
                False,
                _texts(graph, iri, RDFS.label),
                {lang: f"kommunkod {iri.removeprefix(prefix)}" for lang in LANGUAGES},
            )
            for iri in municipalities
        )
        names, descriptions = _CATEGORY_TEXT["municipality"]
        return Code(MUNICIPALITY_CATEGORY, "municipality", True, names, descriptions, children)

    @staticmethod
    def _collaborations() -> Code:
        names, descriptions = _CATEGORY_TEXT["collaboration"]
        return Code(COLLABORATION_CATEGORY, "collaboration", True, names, descriptions)

    def code_elements(self, namespace: str, language: str, codes: tuple[Code, ...] | None = None) -> ET.Element:
        """A `Codes` element holding our codes (or the given ones), labels in `language`."""
        codes_element = ET.Element(f"{{{namespace}}}Codes")
        for code in self.top if codes is None else codes:
            codes_element.append(self._element(code, namespace, language))
        return codes_element

    def _element(self, code: Code, namespace: str, language: str) -> ET.Element:
        attributes = {"guid": code.guid, "name": code.name(language), "isCodable": "false" if code.category else "true"}
        element = ET.Element(f"{{{namespace}}}Code", attributes)
        description = code.descriptions.get(language) or code.descriptions.get("sv")
        if description:
            ET.SubElement(element, f"{{{namespace}}}Description").text = description
        for child in code.children:
            element.append(self._element(child, namespace, language))
        return element

    def qdc(self, language: str) -> bytes:
        """The codebook as a REFI-QDA `.qdc` file (`urn:QDA-XML:codebook:1.0`), the same bytes every time."""
        ET.register_namespace("", CODEBOOK_NS)
        root = ET.Element(f"{{{CODEBOOK_NS}}}CodeBook", {"origin": "Samverkan KG"})
        root.append(self.code_elements(CODEBOOK_NS, language))
        ET.indent(root)
        data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return data + b"\n"
