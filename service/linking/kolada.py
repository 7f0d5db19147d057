"""Kolada key figures (nyckeltal) as RDF Data Cube observations on our municipality IRIs.

Kolada (https://www.kolada.se) publishes key performance indicators (KPIs) per municipality, year and gender
through its API v3 (https://api.kolada.se/v3, Swagger at /v3/docs; v2 is retired and answers 410 Gone). Its
municipality ids are SCB's kommunkoder, so each value lands on our `id/kommun/{kommunkod}` directly; an id
that is not one of our municipalities (a region, a group) stops the import with the file and the value
named, and nothing is loaded.

The same parser reads the JSON pages whichever way they came: from files saved from the API
(`/v3/data/kpi/{kpi}/municipality/{ids}/year/{years}` and `/v3/kpi/{kpi}`), or fetched live page by page
(following `next_url`, at most 25 years a request). Each KPI goes into its own named graph, replaced as a
whole, so importing the same data again gives the same graph; Kolada's terms ask users to cite "Källa: Kolada",
so the graph's catalogue entry and its qb:DataSet say so. The Data Cube structure (the
qb:DataStructureDefinition, its component properties and the gender codes) is the same for every KPI: it is
read from ontology/kolada-cube.ttl and kept in a graph of its own.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import requests

from service import __version__
from service.catalogue import GraphContent, replace_graphs
from service.ingest import DataFileError, read_rdf
from service.namespaces import BASE, GRAPH, ID, ONTOLOGY, PREFIXES, RDF_TYPE, XSD, municipality_iri
from service.shipped_files import ROOT
from service.store import Store

KOLADA_API = "https://api.kolada.se/v3"
KOLADA = BASE + "kolada#"  # the Data Cube component properties used for Kolada data
GRAPH_KOLADA_STRUCTURE = GRAPH + "kolada"
STRUCTURE_FILE = ROOT / "ontology" / "kolada-cube.ttl"
STRUCTURE = ID + "kolada/structure"
KPI_SCHEME = ID + "kolada/kpi"
GENDER_SCHEME = ID + "kolada/gender"
PUBLISHER = "RKA, Rådet för främjande av kommunala analyser (Kolada)"
ATTRIBUTION = "Källa: Kolada"  # Kolada's terms: free to use, cite the source with these words
USER_AGENT = f"SamverkanKG/{__version__} (https://w3id.org/samverkan/; Kolada key figures as RDF)"
# Kolada v3 refuses more than 25 years in one request; public clients report that it also limits the number of
# municipality ids (to about 20), so both are sent in blocks. per_page may be up to 5000.
YEARS_PER_REQUEST = 25
MUNICIPALITIES_PER_REQUEST = 20
PER_PAGE = 5000
FIRST_YEAR = 1990  # fetched from this year on unless the caller names the years
MAX_PAGES = 1000  # a next_url chain longer than this is a loop, not data
V2_LINKS = ("next_page", "previous_page")  # how v2 linked its pages (v3 uses next_url)

QB = "http://purl.org/linked-data/cube#"
RDFS, SKOS, DCT = (PREFIXES[p] for p in ("rdfs", "skos", "dcterms"))

KPI_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
YEAR = re.compile(r"\d{4}")
YEAR_SPAN = re.compile(r"(\d{4})(?:-(\d{4}))?")


def kolada_graph(kpi: str) -> str:
    """Named graph holding one KPI: its description, its qb:DataSet and the observations."""
    return f"{GRAPH}kolada/{kpi}"


def kpi_iri(kpi: str) -> str:
    return f"{ID}kolada/kpi/{kpi}"


@dataclass(frozen=True)
class Page:
    """One JSON answer of the Kolada API: where it came from (a file or a URL), its parsed body and, when it was
    fetched, the HTTP status it came with."""

    source: str
    body: Any
    status: int | None = None

    @property
    def where(self) -> str:
        return self.source if self.status is None else f"{self.source} (HTTP {self.status})"


@dataclass(frozen=True)
class Value:
    kpi: str
    municipality: str
    year: str
    gender: str
    value: Decimal
    status: str
    where: str  # source and position, for messages


@dataclass
class KoladaData:
    """What the pages hold, checked: KPI descriptions and values, by KPI."""

    kpis: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> the /v3/kpi object
    values: dict[tuple[str, str, str, str], Value] = field(default_factory=dict)
    empty: int = 0  # values Kolada gives as null (not measured): no observation
    sources: dict[str, set[str]] = field(default_factory=dict)  # KPI id -> the files or URLs that mention it

    def kpi_ids(self) -> list[str]:
        return sorted(set(self.kpis) | {key[0] for key in self.values})


class KoladaFetchError(RuntimeError):
    """The Kolada API could not be reached or answered with an error."""


# --- The structure --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Structure:
    """The Data Cube structure shared by every KPI, and the gender codes it defines (all Kolada may send)."""

    triples: list[ox.Triple]
    genders: tuple[str, ...]


@cache
def structure() -> Structure:
    """The structure as ontology/kolada-cube.ttl states it (fixed data, so kept out of the code)."""
    triples = read_rdf(STRUCTURE_FILE, base_iri=BASE)
    genders = sorted(
        t.object.value
        for t in triples
        if t.predicate == _n(SKOS + "notation")
        and isinstance(t.subject, ox.NamedNode)
        and t.subject.value.startswith(GENDER_SCHEME + "/")
        and isinstance(t.object, ox.Literal)
    )
    return Structure(triples, tuple(genders))


# --- Reading pages -------------------------------------------------------------------------------------------


def read_pages(paths: Iterable[Path]) -> list[Page]:
    pages = []
    for path in paths:
        try:
            pages.append(Page(str(path), json.loads(path.read_bytes())))
        except OSError as error:
            raise DataFileError(path, f"cannot be read ({error.strerror})") from error
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DataFileError(path, f"is not JSON as the Kolada API sends it: {error}") from error
    return pages


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def shape_problem(body: Any) -> str | None:
    """Why a JSON body is not a Kolada v3 answer page (None when it is one): for files and fetched pages alike."""
    if isinstance(body, dict) and any(link in body for link in V2_LINKS):
        return (
            "a Kolada API v2 answer (its pages are linked by next_page); v2 is retired and answers 410 Gone: "
            f"save the answer again from {KOLADA_API}, or fetch it (samverkan import kolada --fetch KPI)"
        )
    if not isinstance(body, dict) or not isinstance(body.get("values"), list):
        return 'not a Kolada API v3 answer: expected {"values": […]} (and "next_url" when more pages follow)'
    if body.get("next_url") is not None and not isinstance(body["next_url"], str):
        return f"next_url: '{body['next_url']}' is not the URL of the next page"
    return None


def parse(pages: Sequence[Page], municipalities: set[str]) -> KoladaData:
    """Check every page and collect its KPIs and values; DataFileError names each problem (file or URL and status,
    position, value).

    `municipalities` are the kommunkoder our graph knows; a value for any other id is a problem.
    """
    data = KoladaData()
    problems: dict[str, list[str]] = {}
    for page in pages:
        found = problems.setdefault(page.where, [])
        problem = shape_problem(page.body)
        if problem:
            found.append(problem)
            continue
        for i, item in enumerate(page.body["values"]):
            where = f"values[{i}]"
            if not isinstance(item, dict):
                found.append(f"{where}: expected an object")
            elif "municipality" in item or "period" in item:
                found += _read_data_item(item, where, page.source, municipalities, data)
            elif "id" in item and "title" in item:
                kpi = _text(item, "id")
                if KPI_ID.fullmatch(kpi):
                    data.kpis[kpi] = item
                    data.sources.setdefault(kpi, set()).add(page.source)
                else:
                    found.append(f"{where}.id: '{item['id']}' is not a Kolada KPI id (e.g. N00945)")
            else:
                found.append(f"{where}: neither a data value (kpi, municipality, period, values) nor a KPI (id, title)")
    for source, messages in problems.items():
        if messages:
            shown = "; ".join(messages[:20]) + (f"; and {len(messages) - 20} more" if len(messages) > 20 else "")
            raise DataFileError(source, f"{len(messages)} problem(s), nothing was loaded: {shown}")
    return data


def _read_data_item(
    item: dict[str, Any], where: str, source: str, municipalities: set[str], data: KoladaData
) -> list[str]:
    problems = []
    kpi, municipality, year = _text(item, "kpi"), _text(item, "municipality"), _text(item, "period")
    if not KPI_ID.fullmatch(kpi):
        problems.append(f"{where}.kpi: '{item.get('kpi')}' is not a Kolada KPI id (e.g. N00945)")
    data.sources.setdefault(kpi, set()).add(source)
    if not YEAR.fullmatch(year):
        problems.append(f"{where}.period: '{item.get('period')}' is not a year (e.g. 2020)")
    if municipality not in municipalities:
        problems.append(
            f"{where}.municipality: '{item.get('municipality')}' is not the kommunkod of a Swedish municipality "
            f"(kpi {kpi}, period {year}); regions and municipality groups are not imported"
        )
    values = item.get("values")
    if not isinstance(values, list):
        return [*problems, f"{where}.values: expected a list of {{gender, status, value}}"]
    for j, entry in enumerate(values):
        at = f"{where}.values[{j}]"
        if not isinstance(entry, dict):
            problems.append(f"{at}: expected an object with gender, status and value")
            continue
        gender, number = _text(entry, "gender"), entry.get("value")
        genders = structure().genders
        if gender not in genders:
            problems.append(f"{at}.gender: '{entry.get('gender')}' is not one of {', '.join(genders)}")
        if number is not None and (isinstance(number, bool) or not isinstance(number, int | float)):
            problems.append(f"{at}.value: '{number}' is not a number (or null)")
        if problems:
            continue
        if number is None:
            data.empty += 1
            continue
        value = Value(kpi, municipality, year, gender, Decimal(str(number)), _text(entry, "status"), f"{source} {at}")
        key = (kpi, municipality, year, gender)
        earlier = data.values.setdefault(key, value)
        if earlier.value != value.value:
            problems.append(
                f"{at}: {kpi} for {municipality} {year} {gender} is {number} here "
                f"but {earlier.value} in {earlier.where}"
            )
    return problems


# --- Fetching pages ------------------------------------------------------------------------------------------


def _follow(session: requests.Session, url: str) -> list[Page]:
    """One API answer and every page its `next_url` links lead to; any answer but a v3 page is an error."""
    pages: list[Page] = []
    next_url: str | None = url
    while next_url:
        if len(pages) >= MAX_PAGES or any(page.source == next_url for page in pages):
            raise KoladaFetchError(f"Kolada's next_url links from {url} loop or pass {MAX_PAGES} pages; stopped")
        try:
            response = session.get(next_url, timeout=60)
        except requests.RequestException as error:
            raise KoladaFetchError(f"Kolada could not be reached ({next_url}): {error}") from error
        status = response.status_code
        if status != 200:
            retired = f" (this API is retired; Kolada's current one is {KOLADA_API})" if status == 410 else ""
            raise KoladaFetchError(f"Kolada answered HTTP {status} for {next_url}{retired}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError as error:
            raise KoladaFetchError(f"Kolada answered HTTP {status} for {next_url}, but not with JSON") from error
        problem = shape_problem(body)
        if problem:
            raise KoladaFetchError(f"Kolada answered HTTP {status} for {next_url} with {problem}")
        pages.append(Page(next_url, body, status))
        next_url = body.get("next_url") or None
    return pages


def year_span(text: str) -> range:
    """`FIRST-LAST` (or one year) as the years to fetch; ValueError says what is wrong."""
    match = YEAR_SPAN.fullmatch(text.strip())
    if not match or int(match[2] or match[1]) < int(match[1]):
        raise ValueError(f"'{text}' is not a year or a span of years such as {FIRST_YEAR}-2025")
    return range(int(match[1]), int(match[2] or match[1]) + 1)


def fetch(
    kpis: Sequence[str], municipalities: Sequence[str], years: Sequence[int] | None = None, api: str = KOLADA_API
) -> list[Page]:
    """The KPIs' descriptions and their values for our municipalities from the Kolada API v3, by KPI,
    municipality and year (from FIRST_YEAR to this year unless `years` are given), in blocks the API accepts.

    Raises KoladaFetchError naming the URL and HTTP status of the first answer that is not a v3 page.
    """
    api = api.rstrip("/")
    wanted = sorted(set(years if years is not None else range(FIRST_YEAR, date.today().year + 1)))
    year_blocks = [wanted[i : i + YEARS_PER_REQUEST] for i in range(0, len(wanted), YEARS_PER_REQUEST)]
    codes = sorted(municipalities)
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    pages = []
    for kpi in kpis:
        if not KPI_ID.fullmatch(kpi):
            raise KoladaFetchError(f"'{kpi}' is not a Kolada KPI id (e.g. N00945)")
        described = _follow(session, f"{api}/kpi/{kpi}")
        if not any(page.body["values"] for page in described):
            raise KoladaFetchError(f"Kolada has no KPI '{kpi}' ({api}/kpi/{kpi} lists nothing)")
        pages += described
        for start in range(0, len(codes), MUNICIPALITIES_PER_REQUEST):
            chunk = ",".join(codes[start : start + MUNICIPALITIES_PER_REQUEST])
            for block in year_blocks:
                span = ",".join(map(str, block))
                pages += _follow(session, f"{api}/data/kpi/{kpi}/municipality/{chunk}/year/{span}?per_page={PER_PAGE}")
    return pages


# --- RDF -----------------------------------------------------------------------------------------------------


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _t(subject: str, predicate: str, obj: ox.NamedNode | ox.Literal) -> ox.Triple:
    return ox.Triple(_n(subject), _n(predicate), obj)


def kpi_triples(kpi: str, data: KoladaData) -> list[ox.Triple]:
    """One KPI's description, its qb:DataSet and one qb:Observation per municipality, year and gender."""
    concept, dataset = kpi_iri(kpi), f"{ID}kolada/dataset/{kpi}"
    meta = data.kpis.get(kpi, {})
    title = _text(meta, "title") or kpi
    triples = [
        _t(concept, RDF_TYPE, _n(SKOS + "Concept")),
        _t(concept, SKOS + "inScheme", _n(KPI_SCHEME)),
        _t(concept, SKOS + "notation", ox.Literal(kpi)),
        _t(concept, SKOS + "prefLabel", ox.Literal(title, language="sv")),
        _t(concept, RDFS + "label", ox.Literal(title, language="sv")),
        _t(concept, DCT + "source", _n(f"{KOLADA_API}/kpi/{kpi}")),
        _t(dataset, RDF_TYPE, _n(QB + "DataSet")),
        _t(dataset, QB + "structure", _n(STRUCTURE)),
        _t(dataset, DCT + "subject", _n(concept)),
        _t(dataset, RDFS + "label", ox.Literal(f"Kolada {kpi}: {title}", language="sv")),
        _t(dataset, DCT + "publisher", ox.Literal(PUBLISHER)),
        _t(dataset, DCT + "bibliographicCitation", ox.Literal(ATTRIBUTION)),
    ]
    for key in ("description", "definition"):
        if _text(meta, key):
            triples.append(_t(concept, SKOS + "definition", ox.Literal(_text(meta, key), language="sv")))
            break
    if _text(meta, "unit"):
        triples.append(_t(concept, KOLADA + "unit", ox.Literal(_text(meta, "unit"), language="sv")))
    triples += [_t(dataset, DCT + "source", ox.Literal(source)) for source in sorted(data.sources.get(kpi, ()))]
    for (k, municipality, year, gender), value in sorted(data.values.items()):
        if k != kpi:
            continue
        observation = f"{ID}kolada/observation/{kpi}/{municipality}/{year}/{gender}"
        triples += [
            _t(observation, RDF_TYPE, _n(QB + "Observation")),
            _t(observation, QB + "dataSet", _n(dataset)),
            _t(observation, KOLADA + "kpi", _n(concept)),
            _t(observation, KOLADA + "municipality", _n(municipality_iri(municipality))),
            _t(observation, KOLADA + "year", ox.Literal(year, datatype=_n(XSD + "gYear"))),
            _t(observation, KOLADA + "gender", _n(f"{GENDER_SCHEME}/{gender}")),
            _t(observation, KOLADA + "value", ox.Literal(format(value.value, "f"), datatype=_n(XSD + "decimal"))),
        ]
        if value.status:
            triples.append(_t(observation, KOLADA + "status", ox.Literal(value.status)))
    return triples


# --- Import --------------------------------------------------------------------------------------------------


def known_municipalities(store: Store) -> set[str]:
    """The kommunkoder of the municipalities our graph holds (the reference list)."""
    result = store.query(f"SELECT ?code WHERE {{ ?m a <{ONTOLOGY}Municipality> ; <{ONTOLOGY}kommunkod> ?code }}")
    assert isinstance(result, ox.QuerySolutions)
    return {row["code"].value for row in result}


@dataclass(frozen=True)
class Imported:
    kpi: str
    title: str
    graph: str
    observations: int
    municipalities: int
    years: tuple[str, ...]

    def __str__(self) -> str:
        span = f"{self.years[0]} to {self.years[-1]}" if self.years else "no years"
        return (
            f"{self.kpi} ({self.title}): {self.observations} observations for {self.municipalities} municipalities, "
            f"{span}, in <{self.graph}>"
        )


def _digest(triples: Sequence[ox.Triple]) -> str:
    return hashlib.sha256("\n".join(sorted(str(t) for t in triples)).encode()).hexdigest()


def import_pages(store: Store, pages: Sequence[Page]) -> tuple[list[Imported], int]:
    """Check the pages, then replace each KPI's graph (and the shared structure) in one atomic update.

    Returns what was imported per KPI and how many values were null (not measured, so not stored).
    """
    where = pages[0].source if pages else "kolada"
    municipalities = known_municipalities(store)
    if not municipalities:
        raise DataFileError(where, "the store holds no municipalities; load the reference data first (samverkan serve)")
    data = parse(pages, municipalities)
    if not data.kpi_ids():
        raise DataFileError(where, "holds no Kolada values or KPIs")
    shared = structure().triples
    source = str(STRUCTURE_FILE.relative_to(ROOT))
    contents = [GraphContent(GRAPH_KOLADA_STRUCTURE, shared, [source], _digest(shared), "Kolada: Data Cube structure")]
    imported = []
    for kpi in data.kpi_ids():
        triples = kpi_triples(kpi, data)
        title = _text(data.kpis.get(kpi, {}), "title") or kpi
        sources = sorted(data.sources.get(kpi, ()))
        contents.append(
            GraphContent(kolada_graph(kpi), triples, sources, _digest(triples), f"Kolada {kpi}: {title}", ATTRIBUTION)
        )
        values = [v for key, v in data.values.items() if key[0] == kpi]
        years = tuple(sorted({v.year for v in values}))
        imported.append(
            Imported(kpi, title, kolada_graph(kpi), len(values), len({v.municipality for v in values}), years)
        )
    replace_graphs(store, contents)
    return imported, data.empty
