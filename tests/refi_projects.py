"""REFI-QDA projects built for the tests, element by element as Project-mrt2019.xsd defines them, and validated
against it. Written independently of service/ingest (our codes' GUIDs are UUID 5 of their IRIs, as the issue
specifies), so the reader is tested against the standard rather than against itself."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import xmlschema

NS = "urn:QDA-XML:project:1.0"
XSD = Path(__file__).parent / "fixtures" / "refi-qda" / "Project-mrt2019.xsd"
BASE = "https://w3id.org/samverkan/"


def ours(iri: str) -> str:
    """The GUID of one of our codes: UUID 5 of its IRI."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, iri)).upper()


def concept(scheme: str, slug: str) -> str:
    return ours(f"{BASE}id/concept/{scheme}/{slug}")


CATEGORY = {
    "form": ours(BASE + "id/scheme/samverkansform"),
    "goal": ours(BASE + "id/scheme/mal"),
    "tool": ours(BASE + "id/scheme/styrmedel"),
    "topic": ours(BASE + "id/scheme/sakomrade"),
    "actor": ours(BASE + "ontology#Actor"),
    "kommun": ours(BASE + "id/kommun"),
    "collaboration": ours(BASE + "ontology#Collaboration"),
}


def actor_type(name: str) -> str:
    return ours(BASE + "ontology#" + name)


def kommun(code: str) -> str:
    return ours(f"{BASE}id/kommun/{code}")


def guid(name: str) -> str:
    """A GUID for a test's own code or selection, stable across runs."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, name + ".test")).upper()


@dataclass
class Code:
    guid: str
    name: str
    children: list[Code] = field(default_factory=list)
    description: str = ""


@dataclass
class Selection:
    guid: str
    quote: str  # located in the source's text to compute the positions
    codes: list[str]
    user: str
    nth: int = 0  # which occurrence of the quote


@dataclass
class Source:
    name: str
    text: str
    selections: list[Selection]
    variables: dict[str, str] = field(default_factory=dict)
    guid: str = ""


def positions(text: str, quote: str, utf16: bool, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(quote, start + 1)
    if utf16:
        before = len(text[:start].encode("utf-16-le")) // 2
        return before, before + len(quote.encode("utf-16-le")) // 2
    return start, start + len(quote)


def project_xml(
    users: dict[str, str], codes: list[Code], sources: list[Source], origin: str = "Test 1.0", nvivo: bool = False
) -> bytes:
    ET.register_namespace("", NS)

    def q(tag: str) -> str:
        return f"{{{NS}}}{tag}"

    root = ET.Element(q("Project"), {"name": "test", "origin": "NVivo 14" if nvivo else origin})
    users_element = ET.SubElement(root, q("Users"))
    for user_guid, name in users.items():
        ET.SubElement(users_element, q("User"), {"guid": user_guid, "name": name})

    def code_element(parent: ET.Element, code: Code) -> None:
        element = ET.SubElement(parent, q("Code"), {"guid": code.guid, "name": code.name, "isCodable": "true"})
        if code.description:
            ET.SubElement(element, q("Description")).text = code.description
        for child in code.children:
            code_element(element, child)

    codes_element = ET.SubElement(ET.SubElement(root, q("CodeBook")), q("Codes"))
    for code in codes:
        code_element(codes_element, code)
    variables = sorted({name for s in sources for name in s.variables})
    if variables:
        variables_element = ET.SubElement(root, q("Variables"))
        for name in variables:
            attributes = {"guid": guid("variable " + name), "name": name, "typeOfVariable": "Text"}
            ET.SubElement(variables_element, q("Variable"), attributes)
    sources_element = ET.SubElement(root, q("Sources"))
    for source in sources:
        attributes = {"guid": source.guid or guid("source " + source.name), "name": source.name}
        attributes["plainTextPath"] = f"internal://{attributes['guid']}.txt"
        element = ET.SubElement(sources_element, q("TextSource"), attributes)
        for selection in source.selections:
            start, end = positions(source.text, selection.quote, nvivo, selection.nth)
            attributes = {
                "guid": selection.guid,
                "startPosition": str(start),
                "endPosition": str(end),
                "creatingUser": selection.user,
            }
            selection_element = ET.SubElement(element, q("PlainTextSelection"), attributes)
            for code in selection.codes:
                coding = ET.SubElement(
                    selection_element,
                    q("Coding"),
                    {"guid": guid(f"coding {selection.guid} {code}"), "creatingUser": selection.user},
                )
                ET.SubElement(coding, q("CodeRef"), {"targetGUID": code})
        for name, value in source.variables.items():
            value_element = ET.SubElement(element, q("VariableValue"))
            ET.SubElement(value_element, q("VariableRef"), {"targetGUID": guid("variable " + name)})
            ET.SubElement(value_element, q("TextValue")).text = value
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def validate(xml: bytes) -> None:
    """Raises when the project is not valid against the REFI-QDA project schema."""
    xmlschema.XMLSchema(str(XSD)).validate(ET.fromstring(xml))


def write_qdpx(path: Path, xml: bytes, sources: list[Source]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", xml)
        for source in sources:
            archive.writestr(f"Sources/{source.guid or guid('source ' + source.name)}.txt", source.text)
    return path
