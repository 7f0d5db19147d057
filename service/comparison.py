"""Studies side by side: for one dimension (form, goal, tool, topic or the partners' sector), each study's
count and share of its collaborations with each value, from the saved query compare-studies-side-by-side.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from service.namespaces import ID
from service.parameters import arguments, bind
from service.runtime import Services


class ComparisonUnavailable(LookupError):
    """The saved comparison query is not served (its file has a problem)."""


COMPARE_QUERY = "compare-studies-side-by-side"
DIMENSIONS = ("sector", "form", "goal", "tool", "topic")
STUDY = ID + "study/"


@dataclass(frozen=True)
class Comparison:
    """The studies side by side along one dimension: per concept, each study's count and share."""

    studies: list[dict[str, Any]]  # id, iri, label, total
    rows: list[dict[str, Any]]  # iri, label, cells: [{count, percent}] in the order of studies
    left_out: int  # concepts no chosen study has

    def as_json(self) -> dict[str, Any]:
        return {"studies": self.studies, "rows": self.rows, "left_out": self.left_out}

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        header = ["value", "label"]
        for study in self.studies:
            header += [f"{study['id']} count", f"{study['id']} total", f"{study['id']} percent"]
        writer.writerow(header)
        for row in self.rows:
            line = [row["iri"], row["label"]]
            for study, cell in zip(self.studies, row["cells"], strict=True):
                line += [cell["count"], study["total"], cell["percent"]]
            writer.writerow(line)
        return out.getvalue()


def compare_studies(services: Services, study_ids: list[str], dimension: str, lang: str) -> Comparison:
    """Run the saved comparison query and put the studies side by side, labelled in `lang`.

    ParameterError for a study that does not exist; ComparisonUnavailable when the query is not served.
    """
    query = services.library.current().get(COMPARE_QUERY)
    if query is None:
        raise ComparisonUnavailable(
            f"The saved query {COMPARE_QUERY} is not served; see GET /api/queries for its problem."
        )
    given = {"study": study_ids, "dimension": [dimension], "language": [lang]}
    rows = services.select(bind(query.text, arguments(query.parameters, given, services.candidates())))
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
        concept["by"][iri] = {"count": int(row["count"]["value"]), "percent": float(row["percent"]["value"])}
    order = [STUDY + sid if not sid.startswith(STUDY) else sid for sid in study_ids]
    chosen = [studies[iri] for iri in dict.fromkeys(order) if iri in studies]
    chosen += [s for iri, s in studies.items() if iri not in order]
    table = []
    for concept in concepts.values():
        cells = [concept["by"].get(s["iri"], {"count": 0, "percent": 0.0}) for s in chosen]
        if any(cell["count"] for cell in cells):
            table.append({"iri": concept["iri"], "label": concept["label"], "cells": cells})
    table.sort(key=lambda r: (-max(c["percent"] for c in r["cells"]), r["label"].casefold()))
    return Comparison(chosen, table, len(concepts) - len(table))
