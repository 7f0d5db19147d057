"""Kolada key figures (nyckeltal) as RDF Data Cube observations on our municipality IRIs.

Kolada (https://www.kolada.se, API v2 at http://api.kolada.se/v2/, documented at
https://github.com/Hypergene/kolada) publishes key performance indicators (KPIs) per municipality, year
and gender. Its municipality ids are SCB's kommunkoder, so each value lands on our
`id/kommun/{kommunkod}` directly; an id that is not one of our municipalities (a region, a group) stops
the import with the file and the value named, and nothing is loaded.

The same parser reads the JSON pages whichever way they came: from files saved from the API
(`/v2/data/kpi/{kpi}/municipality/{id}/year/{y}` and `/v2/kpi/{id}`), or fetched live page by page
(following `next_page`). Each KPI goes into its own named graph, replaced as a whole, so importing the
same data again gives the same graph. The Data Cube structure (the qb:DataStructureDefinition, its
component properties and the gender codes) is the same for every KPI and kept in a graph of its own.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import requests

from service import __version__
from service.catalogue import GraphContent, replace_graphs
from service.ingest import DataFileError
from service.namespaces import BASE, GRAPH, ID, ONTOLOGY, PREFIXES, municipality_iri
from service.store import Store

KOLADA_API = "http://api.kolada.se/v2/"
KOLADA = BASE + "kolada#"  # the Data Cube component properties used for Kolada data
GRAPH_KOLADA_STRUCTURE = GRAPH + "kolada"
STRUCTURE = ID + "kolada/structure"
KPI_SCHEME = ID + "kolada/kpi"
GENDER_SCHEME = ID + "kolada/gender"
PUBLISHER = "RKA, Rådet för främjande av kommunala analyser (Kolada)"
USER_AGENT = f"SamverkanKG/{__version__} (https://w3id.org/samverkan/; Kolada key figures as RDF)"
MUNICIPALITIES_PER_REQUEST = 100  # keeps the data URL well under the length Kolada accepts
MAX_PAGES = 1000  # a next_page chain longer than this is a loop, not data

QB = "http://purl.org/linked-data/cube#"
SDMX_DIMENSION = "http://purl.org/linked-data/sdmx/2009/dimension#"
SDMX_MEASURE = "http://purl.org/linked-data/sdmx/2009/measure#"
SDMX_CODE = "http://purl.org/linked-data/sdmx/2009/code#"
RDF, RDFS, XSD, SKOS, DCT = (PREFIXES[p] for p in ("rdf", "rdfs", "xsd", "skos", "dcterms"))

KPI_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
YEAR = re.compile(r"\d{4}")
# Kolada's gender codes, with their Swedish and English labels and the SDMX code each one matches.
GENDERS = {
    "T": ("totalt", "total", "sex-T"),
    "K": ("kvinnor", "women", "sex-F"),
    "M": ("män", "men", "sex-M"),
}


def kolada_graph(kpi: str) -> str:
    """Named graph holding one KPI: its description, its qb:DataSet and the observations."""
    return f"{GRAPH}kolada/{kpi}"


def kpi_iri(kpi: str) -> str:
    return f"{ID}kolada/kpi/{kpi}"


@dataclass(frozen=True)
class Page:
    """One JSON answer of the Kolada API: where it came from (a file or a URL) and its parsed body."""

    source: str
    body: Any


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

    kpis: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> the /v2/kpi object
    values: dict[tuple[str, str, str, str], Value] = field(default_factory=dict)
    empty: int = 0  # values Kolada gives as null (not measured): no observation
    sources: dict[str, set[str]] = field(default_factory=dict)  # KPI id -> the files or URLs that mention it

    def kpi_ids(self) -> list[str]:
        return sorted(set(self.kpis) | {key[0] for key in self.values})


class KoladaFetchError(RuntimeError):
    """The Kolada API could not be reached or answered with an error."""


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


def parse(pages: Sequence[Page], municipalities: set[str]) -> KoladaData:
    """Check every page and collect its KPIs and values; DataFileError names each problem (file, position, value).

    `municipalities` are the kommunkoder our graph knows; a value for any other id is a problem.
    """
    data = KoladaData()
    problems: dict[str, list[str]] = {}
    for page in pages:
        found = problems.setdefault(page.source, [])
        items = page.body.get("values") if isinstance(page.body, dict) else None
        if not isinstance(items, list):
            found.append('not a Kolada API answer: expected {"count": …, "values": […]}')
            continue
        for i, item in enumerate(items):
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
        if gender not in GENDERS:
            problems.append(f"{at}.gender: '{entry.get('gender')}' is not one of {', '.join(GENDERS)}")
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
    """One API answer and every page its `next_page` links lead to."""
    pages: list[Page] = []
    next_url: str | None = url
    while next_url:
        if len(pages) >= MAX_PAGES:
            raise KoladaFetchError(f"Kolada sent more than {MAX_PAGES} pages for {url}; stopped")
        try:
            response = session.get(next_url, timeout=60)
        except requests.RequestException as error:
            raise KoladaFetchError(f"Kolada could not be reached ({next_url}): {error}") from error
        if response.status_code != 200:
            raise KoladaFetchError(f"Kolada answered {response.status_code} for {next_url}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError as error:
            raise KoladaFetchError(f"Kolada did not answer JSON for {next_url}") from error
        pages.append(Page(next_url, body))
        link = body.get("next_page") if isinstance(body, dict) else None
        next_url = link if isinstance(link, str) and link else None
    return pages


def fetch(kpis: Sequence[str], municipalities: Sequence[str], api: str = KOLADA_API) -> list[Page]:
    """The KPIs' descriptions and their values for our municipalities, every year, from the Kolada API."""
    api = api if api.endswith("/") else api + "/"
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    pages = []
    for kpi in kpis:
        if not KPI_ID.fullmatch(kpi):
            raise KoladaFetchError(f"'{kpi}' is not a Kolada KPI id (e.g. N00945)")
        described = _follow(session, f"{api}kpi/{kpi}")
        if not any(isinstance(p.body, dict) and p.body.get("values") for p in described):
            raise KoladaFetchError(f"Kolada has no KPI '{kpi}' ({api}kpi/{kpi} lists nothing)")
        pages += described
        codes = sorted(municipalities)
        for start in range(0, len(codes), MUNICIPALITIES_PER_REQUEST):
            chunk = ",".join(codes[start : start + MUNICIPALITIES_PER_REQUEST])
            pages += _follow(session, f"{api}data/kpi/{kpi}/municipality/{chunk}")
    return pages


# --- RDF -----------------------------------------------------------------------------------------------------


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _t(subject: str, predicate: str, obj: ox.NamedNode | ox.Literal) -> ox.Triple:
    return ox.Triple(_n(subject), _n(predicate), obj)


def _labels(subject: str, sv: str, en: str) -> list[ox.Triple]:
    return [
        _t(subject, RDFS + "label", ox.Literal(sv, language="sv")),
        _t(subject, RDFS + "label", ox.Literal(en, language="en")),
    ]


def structure_triples() -> list[ox.Triple]:
    """The Data Cube structure all Kolada datasets share: dimensions kpi, municipality, year, gender; measure value."""
    triples = [_t(STRUCTURE, RDF + "type", _n(QB + "DataStructureDefinition"))]
    triples += _labels(
        STRUCTURE, "Kolada: nyckeltal per kommun, år och kön", "Kolada: key figures by municipality, year and gender"
    )
    components = [
        (
            "kpi",
            "dimension",
            "DimensionProperty",
            None,
            SKOS + "Concept",
            KPI_SCHEME,
            ("nyckeltal", "key figure (KPI)"),
        ),
        (
            "municipality",
            "dimension",
            "DimensionProperty",
            "refArea",
            ONTOLOGY + "Municipality",
            None,
            ("kommun", "municipality"),
        ),
        ("year", "dimension", "DimensionProperty", "refPeriod", XSD + "gYear", None, ("år", "year")),
        ("gender", "dimension", "DimensionProperty", "sex", SKOS + "Concept", GENDER_SCHEME, ("kön", "gender")),
        ("value", "measure", "MeasureProperty", "obsValue", XSD + "decimal", None, ("värde", "value")),
        ("status", "attribute", "AttributeProperty", None, XSD + "string", None, ("status", "status")),
    ]
    for order, (name, role, kind, sdmx, range_, code_list, (sv, en)) in enumerate(components, start=1):
        prop, spec = KOLADA + name, f"{STRUCTURE}/{name}"
        triples += [
            _t(prop, RDF + "type", _n(QB + kind)),
            _t(prop, RDF + "type", _n(QB + "ComponentProperty")),
            _t(prop, RDFS + "range", _n(range_)),
            _t(STRUCTURE, QB + "component", _n(spec)),
            _t(spec, RDF + "type", _n(QB + "ComponentSpecification")),
            _t(spec, QB + role, _n(prop)),
            _t(spec, QB + "order", ox.Literal(str(order), datatype=_n(XSD + "integer"))),
        ]
        triples += _labels(prop, sv, en)
        if sdmx:
            namespace = SDMX_MEASURE if role == "measure" else SDMX_DIMENSION
            triples.append(_t(prop, RDFS + "subPropertyOf", _n(namespace + sdmx)))
        if code_list:
            triples += [_t(prop, RDF + "type", _n(QB + "CodedProperty")), _t(prop, QB + "codeList", _n(code_list))]
        if role == "attribute":
            triples.append(_t(spec, QB + "componentRequired", ox.Literal("false", datatype=_n(XSD + "boolean"))))
    for scheme, sv, en in (
        (KPI_SCHEME, "Koladas nyckeltal", "Kolada's key figures"),
        (GENDER_SCHEME, "Kön i Kolada", "Gender in Kolada"),
    ):
        triples += [_t(scheme, RDF + "type", _n(SKOS + "ConceptScheme")), *_labels(scheme, sv, en)]
    for code, (sv, en, sdmx_code) in GENDERS.items():
        concept = f"{GENDER_SCHEME}/{code}"
        triples += [
            _t(concept, RDF + "type", _n(SKOS + "Concept")),
            _t(concept, SKOS + "inScheme", _n(GENDER_SCHEME)),
            _t(concept, SKOS + "notation", ox.Literal(code)),
            _t(concept, SKOS + "prefLabel", ox.Literal(sv, language="sv")),
            _t(concept, SKOS + "prefLabel", ox.Literal(en, language="en")),
            _t(concept, SKOS + "exactMatch", _n(SDMX_CODE + sdmx_code)),
        ]
    return triples


def kpi_triples(kpi: str, data: KoladaData) -> list[ox.Triple]:
    """One KPI's description, its qb:DataSet and one qb:Observation per municipality, year and gender."""
    concept, dataset = kpi_iri(kpi), f"{ID}kolada/dataset/{kpi}"
    meta = data.kpis.get(kpi, {})
    title = _text(meta, "title") or kpi
    triples = [
        _t(concept, RDF + "type", _n(SKOS + "Concept")),
        _t(concept, SKOS + "inScheme", _n(KPI_SCHEME)),
        _t(concept, SKOS + "notation", ox.Literal(kpi)),
        _t(concept, SKOS + "prefLabel", ox.Literal(title, language="sv")),
        _t(concept, RDFS + "label", ox.Literal(title, language="sv")),
        _t(concept, DCT + "source", _n(f"{KOLADA_API}kpi/{kpi}")),
        _t(dataset, RDF + "type", _n(QB + "DataSet")),
        _t(dataset, QB + "structure", _n(STRUCTURE)),
        _t(dataset, DCT + "subject", _n(concept)),
        _t(dataset, RDFS + "label", ox.Literal(f"Kolada {kpi}: {title}", language="sv")),
        _t(dataset, DCT + "publisher", ox.Literal(PUBLISHER)),
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
            _t(observation, RDF + "type", _n(QB + "Observation")),
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
    structure = structure_triples()
    contents = [
        GraphContent(GRAPH_KOLADA_STRUCTURE, structure, [KOLADA_API], _digest(structure), "Kolada: Data Cube structure")
    ]
    imported = []
    for kpi in data.kpi_ids():
        triples = kpi_triples(kpi, data)
        title = _text(data.kpis.get(kpi, {}), "title") or kpi
        sources = sorted(data.sources.get(kpi, ()))
        contents.append(GraphContent(kolada_graph(kpi), triples, sources, _digest(triples), f"Kolada {kpi}: {title}"))
        values = [v for key, v in data.values.items() if key[0] == kpi]
        years = tuple(sorted({v.year for v in values}))
        imported.append(
            Imported(kpi, title, kolada_graph(kpi), len(values), len({v.municipality for v in values}), years)
        )
    replace_graphs(store, contents)
    return imported, data.empty
