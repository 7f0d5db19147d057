"""Links to Wikidata by identifier: SCB kommunkod (P525), länskod (P507) and organisationsnummer (P6460).

A resource is linked only when its code matches exactly one Wikidata entity (municipalities and counties
must also be of class municipality of Sweden Q127448 / county of Sweden Q200547, which keeps out the
pre-1971 towns that share a name); zero or several matches are reported, never guessed. The links are
skos:exactMatch, not owl:sameAs: an OWL reasoner would merge our individual with everything Wikidata
says about its item, while a SKOS mapping states the correspondence and nothing more.

The links and their VoID description (source endpoint, date, count) replace the linkset graph in one
atomic update, so running the command again gives the same graph.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from service import __version__
from service.catalogue import GraphContent, replace_graphs
from service.config import WIKIDATA_SPARQL
from service.namespaces import BASE, GRAPH, ID, ONTOLOGY, PREFIXES, RDF_TYPE, XSD
from service.store import Store

LINKSET_GRAPH = GRAPH + "linkset/wikidata"
LINKSET = ID + "linkset/wikidata"
SAMVERKAN_DATASET = ID + "dataset/samverkan-kg"
WIKIDATA_DATASET = "http://www.wikidata.org/"
ENTITY = "http://www.wikidata.org/entity/"
USER_AGENT = (
    f"SamverkanKG/{__version__} (https://w3id.org/samverkan/; links Swedish municipalities, counties and "
    "organisations by SCB code) SPARQLWrapper/2.0.0"
)
BATCH_SIZE = 100  # codes per VALUES block: well under Wikidata's URL and time limits

A = ox.NamedNode(RDF_TYPE)
EXACT_MATCH = ox.NamedNode(PREFIXES["skos"] + "exactMatch")
VOID = PREFIXES["void"]
DCT = PREFIXES["dcterms"]


@dataclass(frozen=True)
class CodeKind:
    """An identifier both sides record: our property, Wikidata's, and the class Wikidata's item must have."""

    name: str
    ours: str
    wikidata: str
    wikidata_class: str | None

    def forms(self, value: str) -> list[str]:
        """The spellings to ask for: an organisationsnummer with and without its hyphen."""
        digits = re.sub(r"\D", "", value)
        if self.wikidata == "P6460" and len(digits) == 10:
            return [f"{digits[:6]}-{digits[6:]}", digits]
        return [value]


CODE_KINDS = (
    CodeKind("kommunkod", ONTOLOGY + "kommunkod", "P525", "Q127448"),
    CodeKind("länskod", ONTOLOGY + "lanskod", "P507", "Q200547"),
    CodeKind("organisationsnummer", ONTOLOGY + "organisationsnummer", "P6460", None),
)


def _key(value: str) -> str:
    """Codes compare by their digits, so 212000-0357 and 2120000357 are the same organisationsnummer."""
    return re.sub(r"\D", "", value)


@dataclass(frozen=True)
class Coded:
    """One of our resources with one of its codes."""

    subject: str
    kind: CodeKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind.name} {self.value} (<{self.subject}>)"


class LinkError(RuntimeError):
    """The endpoint could not be asked (down, refused the query, answered something else)."""


@dataclass
class LinkReport:
    endpoint: str
    links: dict[str, str] = field(default_factory=dict)  # our IRI -> Wikidata entity IRI
    missing: list[Coded] = field(default_factory=list)
    ambiguous: list[tuple[Coded, list[str]]] = field(default_factory=list)
    conflicting: list[tuple[str, dict[str, list[Coded]]]] = field(default_factory=list)

    def problems(self) -> list[str]:
        """One line per code or resource left unlinked, saying why."""
        lines = [f"{coded}: no Wikidata entity with {coded.kind.wikidata} = {coded.value}" for coded in self.missing]
        lines += [
            f"{coded}: {len(entities)} entities with {coded.kind.wikidata} = {coded.value} "
            f"({', '.join(entities)}); not linked"
            for coded, entities in self.ambiguous
        ]
        for subject, by_entity in self.conflicting:
            reasons = "; ".join(
                f"{entity} by {', '.join(f'{c.kind.name} {c.value}' for c in codes)}"
                for entity, codes in by_entity.items()
            )
            lines.append(f"<{subject}>: its codes point to different entities ({reasons}); not linked")
        return lines

    def summary(self) -> str:
        return (
            f"{len(self.links)} links to Wikidata in <{LINKSET_GRAPH}> (asked {self.endpoint}); "
            f"{len(self.missing)} codes without an entity, {len(self.ambiguous)} codes with several entities, "
            f"{len(self.conflicting)} resources whose codes disagree"
        )


def coded_resources(store: Store) -> list[Coded]:
    """Every resource in our graph with a kommunkod, länskod or organisationsnummer."""
    found = []
    for kind in CODE_KINDS:
        result = store.query(f"SELECT DISTINCT ?s ?code WHERE {{ ?s <{kind.ours}> ?code FILTER(isIRI(?s)) }}")
        assert isinstance(result, ox.QuerySolutions)
        found += [Coded(row["s"].value, kind, row["code"].value) for row in result]
    return sorted(found, key=lambda c: (c.kind.name, c.value, c.subject))


def lookup_query(kind: CodeKind, values: Iterable[str]) -> str:
    """The SPARQL asking Wikidata which entities carry these codes (truthy statements; class in any rank)."""
    literals = " ".join(json.dumps(form) for value in values for form in kind.forms(value))
    class_filter = f"?item p:P31/ps:P31 wd:{kind.wikidata_class} ." if kind.wikidata_class else ""
    return (
        "PREFIX wd: <http://www.wikidata.org/entity/>\n"
        "PREFIX wdt: <http://www.wikidata.org/prop/direct/>\n"
        "PREFIX p: <http://www.wikidata.org/prop/>\n"
        "PREFIX ps: <http://www.wikidata.org/prop/statement/>\n"
        f"SELECT DISTINCT ?code ?item WHERE {{\n  VALUES ?code {{ {literals} }}\n"
        f"  ?item wdt:{kind.wikidata} ?code .\n  {class_filter}\n}}"
    )


def ask(endpoint: str, query: str, timeout: int = 120) -> list[dict[str, dict[str, str]]]:
    """The JSON bindings of one SELECT, asked with SPARQLWrapper (POST, with a User-Agent Wikidata accepts)."""
    client = SPARQLWrapper(endpoint, agent=USER_AGENT)
    client.setMethod(POST)
    client.setReturnFormat(JSON)
    client.setTimeout(timeout)
    client.setQuery(query)
    try:
        answer = client.queryAndConvert()
    except (SPARQLWrapperException, urllib.error.URLError, OSError, ValueError) as error:
        raise LinkError(f"the SPARQL endpoint {endpoint} could not be asked: {error}") from error
    if not isinstance(answer, dict) or "results" not in answer:
        raise LinkError(f"the SPARQL endpoint {endpoint} did not answer with SPARQL JSON results")
    return list(answer["results"]["bindings"])


def matches(endpoint: str, kind: CodeKind, values: Sequence[str], batch_size: int = BATCH_SIZE) -> dict[str, set[str]]:
    """For each code (by its digits), the Wikidata entities that carry it."""
    found: dict[str, set[str]] = defaultdict(set)
    for start in range(0, len(values), batch_size):
        for row in ask(endpoint, lookup_query(kind, values[start : start + batch_size])):
            item = row.get("item", {})
            if item.get("type") == "uri" and item["value"].startswith(ENTITY) and "code" in row:
                found[_key(row["code"]["value"])].add(item["value"])
    return found


def find_links(store: Store, endpoint: str = WIKIDATA_SPARQL, batch_size: int = BATCH_SIZE) -> LinkReport:
    """Ask the endpoint for every code we hold; link what matches exactly one entity, report the rest."""
    report = LinkReport(endpoint)
    coded = coded_resources(store)
    if not coded:
        raise LinkError(
            f"{store.describe_location()} holds no kommunkod, länskod or organisationsnummer to link; "
            "give the store that holds the data (--store PATH, or --query-url)"
        )
    candidates: dict[str, dict[str, list[Coded]]] = defaultdict(lambda: defaultdict(list))
    for kind in CODE_KINDS:
        ours = [c for c in coded if c.kind == kind]
        found = matches(endpoint, kind, sorted({c.value for c in ours}), batch_size)
        for c in ours:
            entities = sorted(found.get(_key(c.value), ()))
            if not entities:
                report.missing.append(c)
            elif len(entities) > 1:
                report.ambiguous.append((c, entities))
            else:
                candidates[c.subject][entities[0]].append(c)
    for subject, by_entity in sorted(candidates.items()):
        if len(by_entity) == 1:
            report.links[subject] = next(iter(by_entity))
        else:
            report.conflicting.append((subject, dict(by_entity)))
    return report


def linkset(report: LinkReport, created: str) -> GraphContent:
    """The links and their VoID linkset description, as the new content of the linkset graph."""

    def n(iri: str) -> ox.NamedNode:
        return ox.NamedNode(iri)

    links = [ox.Triple(n(s), EXACT_MATCH, n(o)) for s, o in sorted(report.links.items())]
    ls, ours, theirs = n(LINKSET), n(SAMVERKAN_DATASET), n(WIKIDATA_DATASET)
    description = (
        "Each link joins a resource of the Samverkan KG to the one Wikidata entity whose P525 (kommunkod), "
        "P507 (länskod) or P6460 (organisationsnummer) equals its samv:kommunkod, samv:lanskod or "
        "samv:organisationsnummer; municipalities and counties must also be of class Q127448 or Q200547. "
        "Codes matching no entity or several entities are not linked."
    )
    metadata = [
        ox.Triple(ls, A, n(VOID + "Linkset")),
        ox.Triple(ls, n(DCT + "title"), ox.Literal("Samverkan KG to Wikidata, by identifier", language="en")),
        ox.Triple(ls, n(DCT + "description"), ox.Literal(description, language="en")),
        ox.Triple(ls, n(VOID + "subjectsTarget"), ours),
        ox.Triple(ls, n(VOID + "objectsTarget"), theirs),
        ox.Triple(ls, n(VOID + "linkPredicate"), EXACT_MATCH),
        ox.Triple(ls, n(DCT + "source"), n(report.endpoint)),
        ox.Triple(ls, n(DCT + "created"), ox.Literal(created, datatype=n(XSD + "date"))),
        ox.Triple(ls, n(VOID + "triples"), ox.Literal(str(len(links)), datatype=n(XSD + "integer"))),
        ox.Triple(n(LINKSET_GRAPH), n(VOID + "subset"), ls),
        ox.Triple(ours, A, n(VOID + "Dataset")),
        ox.Triple(ours, n(DCT + "title"), ox.Literal("Samverkan KG", language="en")),
        ox.Triple(ours, n(VOID + "uriSpace"), ox.Literal(BASE + "id/")),
        ox.Triple(theirs, A, n(VOID + "Dataset")),
        ox.Triple(theirs, n(DCT + "title"), ox.Literal("Wikidata", language="en")),
        ox.Triple(theirs, n(VOID + "uriSpace"), ox.Literal(ENTITY)),
    ]
    digest = hashlib.sha256("\n".join(f"{s} {o}" for s, o in sorted(report.links.items())).encode()).hexdigest()
    return GraphContent(
        LINKSET_GRAPH, links + metadata, [report.endpoint], digest, title="Links to Wikidata by identifier"
    )


def link_wikidata(store: Store, endpoint: str = WIKIDATA_SPARQL, batch_size: int = BATCH_SIZE) -> LinkReport:
    """Find the links and replace the linkset graph with them (nothing is written if the endpoint fails)."""
    report = find_links(store, endpoint, batch_size)
    replace_graphs(store, [linkset(report, datetime.now(UTC).date().isoformat())])
    return report
