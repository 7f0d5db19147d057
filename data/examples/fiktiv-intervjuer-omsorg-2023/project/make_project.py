"""Build ../fiktiv-projekt.qdpx (FICTIONAL example) from the readable sources beside this script: G1.txt and G2.txt
(the transcripts) and project.yaml (coders, codes, coded selections). Run it after changing any of them:

    python data/examples/fiktiv-intervjuer-omsorg-2023/project/make_project.py

The project is written as REFI-QDA's Project-mrt2019.xsd defines it, the way a program such as NVivo, ATLAS.ti or
MAXQDA exports it, with the standard library and PyYAML only. The same sources always give the same bytes: GUIDs
are UUID 5 of fixed names (ours of our IRIs, as `samverkan export codebook` makes them) and the zip entries carry
a fixed date. Positions count Unicode code points, as the standard says.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
STUDY = HERE.parent.name
OUT = HERE.parent / "fiktiv-projekt.qdpx"
NS = "urn:QDA-XML:project:1.0"
BASE = "https://w3id.org/samverkan/"
# Our categories: IRI (the GUID derives from it) and Swedish name, as our codebook has them.
CATEGORIES = {
    "samverkansform": (BASE + "id/scheme/samverkansform", "samverkansformer"),
    "styrmedel": (BASE + "id/scheme/styrmedel", "styrmedel"),
    "sakomrade": (BASE + "id/scheme/sakomrade", "sakområden"),
    "actor": (BASE + "ontology#Actor", "aktörstyper"),
    "kommun": (BASE + "id/kommun", "kommuner"),
    "collaboration": (BASE + "ontology#Collaboration", "samverkan"),
}
ACTOR_TYPE_NAMES = {
    "Municipality": "kommun",
    "Region": "region",
    "NonProfitOrganisation": "ideell organisation",
    "Company": "företag",
}


def guid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name)).upper()


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def code(parent: ET.Element, key: str, name: str, description: str = "", codable: bool = True) -> ET.Element:
    element = ET.SubElement(parent, q("Code"), {"guid": guid(key), "name": name, "isCodable": str(codable).lower()})
    if description:
        ET.SubElement(element, q("Description")).text = description
    return element


def build(spec: dict[str, Any], texts: dict[str, str]) -> bytes:
    ET.register_namespace("", NS)
    root = ET.Element(q("Project"), {"name": "Omsorg i samverkan (fiktiv)", "origin": "make_project.py (fiktiv)"})
    users = ET.SubElement(root, q("Users"))
    for initials, name in spec["users"].items():
        ET.SubElement(users, q("User"), {"guid": guid(f"urn:{STUDY}:user:{initials}"), "name": name})
    codes = ET.SubElement(ET.SubElement(root, q("CodeBook")), q("Codes"))
    keys: dict[str, str] = {}  # how project.yaml names a code -> the key its GUID derives from

    # Our codes: the categories, with the codes used below them.
    categories = {c: code(codes, iri, name, codable=False) for c, (iri, name) in CATEGORIES.items()}
    for local, name in spec["our_codes"].items():
        category = local.split("/")[0]
        keys[local] = f"{BASE}id/concept/{local}" if category != "kommun" else f"{BASE}id/{local}"
        code(categories[category], keys[local], name)
    for actor_type, partners in spec["partners"].items():
        type_element = code(categories["actor"], BASE + "ontology#" + actor_type, ACTOR_TYPE_NAMES[actor_type])
        for name, orgnr in partners.items():
            keys[name] = f"urn:{STUDY}:partner:{name}"
            code(type_element, keys[name], name, f"Organisationsnummer {orgnr}" if orgnr else "")
    for name in spec["collaborations"]:
        keys[name] = f"urn:{STUDY}:collaboration:{name}"
        code(categories["collaboration"], keys[name], name)

    # The researchers' own codebook.
    def own(parent: ET.Element, tree: dict[str, Any]) -> None:
        for name, children in tree.items():
            keys[name] = f"urn:{STUDY}:code:{name}"
            own(code(parent, keys[name], name), children)

    own(codes, spec["own_codes"])

    sources = ET.SubElement(root, q("Sources"))
    for source_name, text in texts.items():
        source_guid = guid(f"urn:{STUDY}:source:{source_name}")
        attributes = {"guid": source_guid, "name": source_name, "plainTextPath": f"internal://{source_guid}.txt"}
        source = ET.SubElement(sources, q("TextSource"), attributes)
        for number, selection in enumerate(spec["selections"], start=1):
            if selection["source"] != source_name:
                continue
            quote = selection["quote"]
            if text.count(quote) != 1:
                raise SystemExit(f"selection {number}: its quote is not found exactly once in {source_name}.txt")
            start = text.index(quote)
            user = guid(f"urn:{STUDY}:user:{selection['user']}")
            selection_guid = guid(f"urn:{STUDY}:selection:{number}")
            element = ET.SubElement(
                source,
                q("PlainTextSelection"),
                {
                    "guid": selection_guid,
                    "startPosition": str(start),
                    "endPosition": str(start + len(quote)),
                    "creatingUser": user,
                },
            )
            for name in selection["codes"]:
                if name not in keys:
                    raise SystemExit(f"selection {number}: '{name}' is no code of project.yaml")
                coding = ET.SubElement(
                    element, q("Coding"), {"guid": guid(f"{selection_guid} {name}"), "creatingUser": user}
                )
                ET.SubElement(coding, q("CodeRef"), {"targetGUID": guid(keys[name])})
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2023, 11, 30, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def main() -> None:
    spec = yaml.safe_load((HERE / "project.yaml").read_text(encoding="utf-8"))
    texts = {name: (HERE / f"{name}.txt").read_text(encoding="utf-8") for name in ("G1", "G2")}
    with zipfile.ZipFile(OUT, "w") as archive:
        archive.writestr(entry("project.qde"), build(spec, texts))
        for name, text in texts.items():
            archive.writestr(entry(f"Sources/{guid(f'urn:{STUDY}:source:{name}')}.txt"), text.encode("utf-8"))
    print(f"{len(spec['selections'])} selections written to {OUT}")


if __name__ == "__main__":
    main()
