"""Write coding-sheet.xlsx: the coding sheet template as an Excel workbook.

The first worksheet is the coding sheet (the only one `samverkan` reads): the header of coding-sheet.csv,
one example row, and a drop-down list in the form and partner_type columns. The second lists the allowed
values of every vocabulary column, read from the ontology and vocabularies, so it never goes stale.

Run from the repository root after changing the vocabularies:  python data/templates/make_xlsx.py
"""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS, SKOS

from service.ingest.resolve import ACTOR_TYPES
from service.namespaces import ID, ONTOLOGY

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLE = {
    "observation": "FG1-02",
    "source": "FG1",
    "municipality": "0484",
    "collaboration": "",
    "partner": "Exempelbolaget AB",
    "partner_type": "företag",
    "form": "projekt",
    "topic": "näringsliv",
    "goals": "regional utveckling|effektivitet",
    "governance_tools": "handlingsplan",
    "lead_actor": "Eskilstuna",
    "period": "2010",
    "quote": "Vi driver ett gemensamt projekt med ett lokalt företag.",
    "location": "00:14:32",
    "coder": "BB",
}
# Columns of the allowed-values sheet: heading, and the labels (Swedish, as in the vocabularies).
SCHEME_COLUMNS = {
    "form": "samverkansform",
    "topic": "sakomrade",
    "goals": "mal",
    "governance_tools": "styrmedel",
}


def swedish(graph: Graph, subject: URIRef, prop: URIRef) -> str:
    labels = [o for o in graph.objects(subject, prop) if isinstance(o, Literal) and o.language == "sv"]
    return str(labels[0]) if labels else str(subject)


def allowed_values() -> dict[str, list[str]]:
    ontology = Graph().parse(ROOT / "ontology" / "samverkan.ttl")
    vocabularies = Graph().parse(ROOT / "ontology" / "vocabularies.ttl")
    values = {"partner_type": [swedish(ontology, URIRef(ONTOLOGY + name), RDFS.label) for name in ACTOR_TYPES]}
    for column, scheme in SCHEME_COLUMNS.items():
        concepts = vocabularies.subjects(SKOS.inScheme, URIRef(f"{ID}scheme/{scheme}"))
        values[column] = sorted(swedish(vocabularies, URIRef(str(c)), SKOS.prefLabel) for c in concepts)
    return values


def main() -> None:
    with (HERE / "coding-sheet.csv").open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "kodning"
    sheet.append(header)
    sheet.append([EXAMPLE.get(column, "") for column in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index in range(1, len(header) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 18
    # Kommunkod and organisationsnummer are text: a number format would drop the leading zero.
    for column in ("municipality", "partner_orgnr"):
        letter = get_column_letter(header.index(column) + 1)
        for row in range(2, 1001):
            sheet[f"{letter}{row}"].number_format = "@"

    values = allowed_values()
    lists = workbook.create_sheet("tillåtna värden")
    for index, (column, labels) in enumerate(values.items(), start=1):
        letter = get_column_letter(index)
        lists[f"{letter}1"] = column
        lists[f"{letter}1"].font = Font(bold=True)
        lists.column_dimensions[letter].width = 34
        for row, label in enumerate(labels, start=2):
            lists[f"{letter}{row}"] = label
        if column in ("form", "partner_type"):
            rule = DataValidation(
                type="list", formula1=f"='tillåtna värden'!${letter}$2:${letter}${len(labels) + 1}", allow_blank=True
            )
            rule.showErrorMessage = False  # a list is a help, not a limit: several partner types use |
            target = get_column_letter(header.index(column) + 1)
            rule.add(f"{target}2:{target}1000")
            sheet.add_data_validation(rule)
    workbook.save(HERE / "coding-sheet.xlsx")


if __name__ == "__main__":
    main()
