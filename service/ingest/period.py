"""Periods as researchers write them (a year, two years, an ISO interval, a start and an end in study.yaml),
kept at the precision given: xsd:gYear, xsd:gYearMonth or xsd:date, plus the years for grouping."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from rdflib import XSD, Literal, Namespace, URIRef
from rdflib.term import Node

from service.ingest.resolve import quoted
from service.namespaces import ONTOLOGY

SAMV = Namespace(ONTOLOGY)
_DATE = r"\d{4}(?:-\d{2}(?:-\d{2})?)?"


@dataclass(frozen=True)
class Period:
    """Start and end at the precision given (xsd:gYear, xsd:gYearMonth or xsd:date); either may be open."""

    start: str | None
    end: str | None

    @classmethod
    def parse(cls, text: str) -> Period:
        """`2019`, `2019-2022` (or with an en dash), `2019-`, or an ISO interval `2019-03-01/2020-06-30`."""
        text = text.strip().replace("\u2013", "-").replace("\u2014", "-")
        if match := re.fullmatch(r"(\d{4})\s*-\s*(\d{4})?", text):
            return cls._checked(match[1], match[2])
        if match := re.fullmatch(rf"({_DATE})?\s*/\s*({_DATE}|\.\.)?", text):
            return cls._checked(match[1], None if match[2] in (None, "..") else match[2])
        if re.fullmatch(_DATE, text):
            return cls._checked(text, text)
        raise ValueError(
            f"'{text}' is not a period; write a year (2019), two years (2019-2022) or an ISO interval "
            "(2019-03-01/2020-06-30)"
        )

    @classmethod
    def of_yaml(cls, value: object) -> Period:
        """A period in study.yaml: a year, a date, a period text, or a mapping {start, end}."""
        if isinstance(value, dict):
            unknown = set(value) - {"start", "end"}
            if unknown:
                raise ValueError(f"a period has only the keys start and end, not {quoted(sorted(map(str, unknown)))}")
            start = _date_text(value.get("start"))
            end = _date_text(value.get("end"))
            for part in (start, end):
                if part is not None and not re.fullmatch(_DATE, part):
                    raise ValueError(f"'{part}' is not a date; write 2011, 2011-03 or 2011-03-15")
            return cls._checked(start, end)
        text = _date_text(value)
        if text is None:
            raise ValueError("is empty; write a year, a date or {start: …, end: …}")
        return cls.parse(text)

    @classmethod
    def _checked(cls, start: str | None, end: str | None) -> Period:
        for part in (start, end):
            if part is not None and len(part) > 4:
                try:
                    datetime.date.fromisoformat(part if len(part) == 10 else part + "-01")
                except ValueError:
                    raise ValueError(f"'{part}' is not a date in the calendar") from None
        if start and end and _bounds(start)[0] > _bounds(end)[1]:
            raise ValueError(f"the period starts ({start}) after it ends ({end})")
        if start is None and end is None:
            raise ValueError("a period needs a start or an end")
        return cls(start, end)

    @classmethod
    def covering(cls, periods: list[Period]) -> Period | None:
        """The period covering all of them: the earliest start and the latest end (open if one of them is open)."""
        if not periods:
            return None
        starts = [p.start for p in periods]
        ends = [p.end for p in periods]
        start = None if None in starts else min((s for s in starts if s), key=lambda s: _bounds(s)[0])
        end = None if None in ends else max((e for e in ends if e), key=lambda e: _bounds(e)[1])
        return cls(start, end)

    def triples(self, subject: URIRef) -> list[tuple[Node, Node, Node]]:
        out: list[tuple[Node, Node, Node]] = []
        if self.start:
            out += [(subject, SAMV.startDate, _date_literal(self.start))]
            out += [(subject, SAMV.startYear, Literal(self.start[:4], datatype=XSD.gYear))]
        if self.end:
            out += [(subject, SAMV.endDate, _date_literal(self.end))]
            out += [(subject, SAMV.endYear, Literal(self.end[:4], datatype=XSD.gYear))]
        return out


def _date_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.date):
        return value.isoformat()[:10]
    return str(value).strip()


def _bounds(part: str) -> tuple[str, str]:
    """The first and last day a date of any precision covers, as ISO text (which sorts as dates do)."""
    if len(part) == 4:
        return f"{part}-01-01", f"{part}-12-31"
    if len(part) == 7:
        return f"{part}-01", f"{part}-31"
    return part, part


def _date_literal(part: str) -> Literal:
    datatype = {4: XSD.gYear, 7: XSD.gYearMonth}.get(len(part), XSD.date)
    return Literal(part, datatype=datatype)
