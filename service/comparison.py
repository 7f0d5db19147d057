"""Studies side by side: for one dimension (form, goal, tool, topic or the partners' sector), each study's
count and share of its collaborations with each value, from the saved query compare-studies-side-by-side, with
Wilson intervals and a test of equal shares per value (service/statistics.py); and what each study's counts rest on
(our vocabularies directly, a crosswalk's mappings, or nothing), from the saved query coding-coverage.

The page, its JSON twin, its CSV and GET /api/compare all give this one Comparison.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from service.executor import Binding
from service.namespaces import ID
from service.parameters import Term, arguments, bind
from service.runtime import Services
from service.saved_queries import SavedQuery
from service.statistics import NOTE, compare_shares

COMPARE_QUERY = "compare-studies-side-by-side"
DIMENSIONS = ("sector", "form", "goal", "tool", "topic")
STUDY = ID + "study/"
SHARE_COLUMNS = ("count", "total", "share", "ci_low", "ci_high")
TEST_COLUMNS = ("test", "statistic", "p_value", "p_adjusted", "cramers_v", "untested")


class ComparisonUnavailable(LookupError):
    """The saved comparison query is not served (its file has a problem)."""


COVERAGE_QUERY = "coding-coverage"
# The dimensions of our concept schemes, which a study's own codes can be mapped to.
CODED_DIMENSIONS = ("form", "goal", "tool", "topic")
# How an observation counts in a dimension: directly, through each kind of mapping (the first three are counted,
# narrow and related matches only shown), or not at all.
BASES = ("direct", "exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch", "none")
COUNTED_BASES = BASES[:4]


def _saved_query(services: Services, name: str) -> SavedQuery:
    query = services.library.current().get(name)
    if query is None:
        raise ComparisonUnavailable(f"The saved query {name} is not served; see GET /api/queries for its problem.")
    return query


def _saved_select(services: Services, name: str, given: dict[str, list[str]]) -> list[Binding]:
    """The rows of a saved SELECT query with these parameters (ParameterError for a value that is not allowed)."""
    query = _saved_query(services, name)
    return services.select(bind(query.text, arguments(query.parameters, given, services.candidates())))


def _study_iri(study_id: str) -> str:
    return study_id if study_id.startswith(STUDY) else STUDY + study_id


@dataclass(frozen=True)
class Comparison:
    """The studies side by side along one dimension: per value, each study's share and the test across them."""

    studies: list[dict[str, Any]]  # id, iri, label, total
    rows: list[dict[str, Any]]  # iri, label, cells (count, total, share, ci_low, ci_high per study), the test
    left_out: int  # values no chosen study has
    note: str  # how to read the tests, in the comparison's language
    query: SavedQuery  # the saved query that counted, and what it was bound to: what a citation names
    bindings: dict[str, list[Term]]

    def as_json(self) -> dict[str, Any]:
        return {"studies": self.studies, "rows": self.rows, "left_out": self.left_out, "note": self.note}

    def csv(self) -> str:
        """The same columns as the JSON: per study count, total, share and interval; then the test."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        header = ["value", "label"]
        for study in self.studies:
            header += [f"{study['id']} {column}" for column in SHARE_COLUMNS]
        writer.writerow(header + list(TEST_COLUMNS))
        for row in self.rows:
            line = [row["iri"], row["label"]]
            for cell in row["cells"]:
                line += [_csv_value(cell[column]) for column in SHARE_COLUMNS]
            writer.writerow(line + [_csv_value(row[column]) for column in TEST_COLUMNS])
        return out.getvalue()


def _csv_value(value: Any) -> Any:
    return "" if value is None else value


def compare_studies(services: Services, study_ids: list[str], dimension: str, lang: str) -> Comparison:
    """Run the saved comparison query, put the studies side by side labelled in `lang`, and test each value.

    ParameterError for a study that does not exist; ComparisonUnavailable when the query is not served.
    """
    query = _saved_query(services, COMPARE_QUERY)
    given = {"study": study_ids, "dimension": [dimension], "language": [lang]}
    bindings = arguments(query.parameters, given, services.candidates())
    rows = services.select(bind(query.text, bindings))
    studies: dict[str, dict[str, Any]] = {}
    concepts: dict[str, dict[str, Any]] = {}
    for row in rows:
        iri = row["study"]["value"]
        studies.setdefault(
            iri,
            {
                "id": iri[len(STUDY) :],
                "iri": iri,
                "label": row["studyLabel"]["value"],
                "total": int(row["total"]["value"]),
            },
        )
        concept = concepts.setdefault(
            row["value"]["value"], {"iri": row["value"]["value"], "label": row["valueLabel"]["value"], "by": {}}
        )
        concept["by"][iri] = int(row["count"]["value"])
    order = [_study_iri(sid) for sid in study_ids]
    chosen = [studies[iri] for iri in dict.fromkeys(order) if iri in studies]
    chosen += [s for iri, s in studies.items() if iri not in order]
    counts = [[concept["by"].get(s["iri"], 0) for s in chosen] for concept in concepts.values()]
    kept = [(concept, c) for concept, c in zip(concepts.values(), counts, strict=True) if any(c)]
    tested = compare_shares([c for _, c in kept], [s["total"] for s in chosen])
    table = []
    for (concept, _), statistics in zip(kept, tested, strict=True):
        found = statistics.as_json()
        cells = found.pop("shares")
        table.append({"iri": concept["iri"], "label": concept["label"], "cells": cells, **found})
    table.sort(key=lambda r: (-max(c["share"] or 0.0 for c in r["cells"]), r["label"].casefold()))
    note = NOTE.sv if lang == "sv" else NOTE.en
    return Comparison(chosen, table, len(concepts) - len(table), note, query, bindings)


@dataclass(frozen=True)
class Coverage:
    """What each study's counts rest on: per study and dimension, the observations counted directly, through each
    kind of mapping, or not at all; and the study's own codes that map to nothing, with their observations."""

    # id, coded (has coded observations), dimensions: [{dimension, counts: {basis: n}, codes: {basis: [own code
    # labels]}}], unmapped: [{iri, label, observations}]
    studies: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {"bases": list(BASES), "counted": list(COUNTED_BASES), "studies": self.studies}


def coding_coverage(services: Services, study_ids: list[str], dimensions: tuple[str, ...]) -> Coverage:
    """Run the saved query coding-coverage for these studies (in their order) and these of CODED_DIMENSIONS.

    ParameterError for a study that does not exist; ComparisonUnavailable when the query is not served.
    """
    rows = _saved_select(services, COVERAGE_QUERY, {"study": study_ids})
    chosen = [_study_iri(s)[len(STUDY) :] for s in dict.fromkeys(study_ids)]
    lines: dict[tuple[str, str], dict[str, Any]] = {
        (sid, d): {"dimension": d, "counts": dict.fromkeys(BASES, 0), "codes": {}} for sid in chosen for d in dimensions
    }
    unmapped: dict[str, list[dict[str, Any]]] = {sid: [] for sid in chosen}
    for row in rows:
        sid, basis, count = row["studyId"]["value"], row["basis"]["value"], int(row["observations"]["value"])
        codes = row["codes"]["value"] if "codes" in row else ""
        if basis == "unmapped" and sid in unmapped:
            unmapped[sid].append({"iri": row["unmapped"]["value"], "label": codes, "observations": count})
        elif (line := lines.get((sid, row["dimension"]["value"]))) is not None:
            line["counts"][basis] = count
            if codes:
                line["codes"][basis] = codes.split(" | ")
    studies = []
    for sid in chosen:
        codes_of = sorted(unmapped[sid], key=lambda code: (-code["observations"], code["label"].casefold()))
        dimension_lines = [lines[sid, d] for d in dimensions]
        coded = bool(codes_of) or any(n for line in dimension_lines for n in line["counts"].values())
        studies.append({"id": sid, "coded": coded, "dimensions": dimension_lines, "unmapped": codes_of})
    return Coverage(studies)
