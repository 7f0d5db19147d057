"""The reference list of Swedish municipalities (kommuner) and counties (län) from SCB's codes, as RDF.

Sources: `data/reference/kommuner.csv` and `lan.csv` (see `data/reference/README.md`). Each IRI is
built from the SCB code, which is also given as `dcterms:identifier` so other datasets can join on it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox

from service.ingest import DataFileError
from service.namespaces import ONTOLOGY, RDF_TYPE, county_iri, municipality_iri

A = ox.NamedNode(RDF_TYPE)
NAMED_INDIVIDUAL = ox.NamedNode("http://www.w3.org/2002/07/owl#NamedIndividual")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
SKOS_PREF_LABEL = ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")
DCT_IDENTIFIER = ox.NamedNode("http://purl.org/dc/terms/identifier")
MUNICIPALITY = ox.NamedNode(ONTOLOGY + "Municipality")
COUNTY = ox.NamedNode(ONTOLOGY + "County")
IN_COUNTY = ox.NamedNode(ONTOLOGY + "county")
KOMMUNKOD = ox.NamedNode(ONTOLOGY + "kommunkod")
LANSKOD = ox.NamedNode(ONTOLOGY + "lanskod")
OFFICIAL_NAME = ox.NamedNode(ONTOLOGY + "officialName")

COUNTY_COLUMNS = ("lanskod", "name_sv", "official_name_sv")
MUNICIPALITY_COLUMNS = ("kommunkod", "name_sv", "official_name_sv", "lanskod")


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows numbered as a spreadsheet shows them (the header is row 1)."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise DataFileError(path, f"missing column(s) {', '.join(missing)}; expected {', '.join(columns)}")
            for number, row in enumerate(reader, start=2):
                yield number, {c: (row.get(c) or "").strip() for c in columns}
    except UnicodeDecodeError as error:
        raise DataFileError(path, f"is not UTF-8 text (byte {error.start})") from error
    except OSError as error:
        raise DataFileError(path, f"cannot be read ({error.strerror})") from error


def _label_triples(subject: ox.NamedNode, name: str, official: str) -> list[ox.Triple]:
    triples = [
        ox.Triple(subject, A, NAMED_INDIVIDUAL),
        ox.Triple(subject, RDFS_LABEL, ox.Literal(name, language="sv")),
        ox.Triple(subject, SKOS_PREF_LABEL, ox.Literal(name, language="sv")),
    ]
    if official:
        triples.append(ox.Triple(subject, OFFICIAL_NAME, ox.Literal(official, language="sv")))
    return triples


def _require(path: Path, number: int, row: dict[str, str], column: str, pattern: str, what: str) -> str:
    value = row[column]
    if not re.fullmatch(pattern, value):
        raise DataFileError(path, f"'{value}' is not {what}", row=number, column=column)
    return value


def reference_triples(counties_csv: Path, municipalities_csv: Path) -> list[ox.Triple]:
    """Counties and municipalities with codes, names and the municipality → county link."""
    triples: list[ox.Triple] = []
    counties: set[str] = set()
    for number, row in _rows(counties_csv, COUNTY_COLUMNS):
        code = _require(counties_csv, number, row, "lanskod", r"\d{2}", "a two-digit länskod (e.g. 04)")
        name = _require(counties_csv, number, row, "name_sv", r".*\S.*", "a county name")
        county = ox.NamedNode(county_iri(code))
        triples += [ox.Triple(county, A, COUNTY), ox.Triple(county, LANSKOD, ox.Literal(code))]
        triples += [ox.Triple(county, DCT_IDENTIFIER, ox.Literal(code))]
        triples += _label_triples(county, row["official_name_sv"] or name, "")
        counties.add(code)
    seen: set[str] = set()
    for number, row in _rows(municipalities_csv, MUNICIPALITY_COLUMNS):
        code = _require(municipalities_csv, number, row, "kommunkod", r"\d{4}", "a four-digit kommunkod (e.g. 0484)")
        name = _require(municipalities_csv, number, row, "name_sv", r".*\S.*", "a municipality name")
        county_code = row["lanskod"]
        if county_code not in counties:
            raise DataFileError(
                municipalities_csv, f"länskod '{county_code}' is not in {counties_csv.name}", number, "lanskod"
            )
        if not code.startswith(county_code):
            raise DataFileError(
                municipalities_csv,
                f"kommunkod {code} does not start with its county's länskod {county_code}",
                number,
                "kommunkod",
            )
        if code in seen:
            raise DataFileError(municipalities_csv, f"kommunkod {code} appears twice", number, "kommunkod")
        seen.add(code)
        municipality = ox.NamedNode(municipality_iri(code))
        triples += [
            ox.Triple(municipality, A, MUNICIPALITY),
            ox.Triple(municipality, KOMMUNKOD, ox.Literal(code)),
            ox.Triple(municipality, DCT_IDENTIFIER, ox.Literal(code)),
            ox.Triple(municipality, IN_COUNTY, ox.NamedNode(county_iri(county_code))),
        ]
        triples += _label_triples(municipality, name, row["official_name_sv"])
    return triples
