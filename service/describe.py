"""What the graph says about one IRI: its statements with the graphs they stand in, incoming links,
provenance, and the studies that mention it, as plain data for its page and the page's JSON twin.

Statements found only in a reasoner's graph are kept apart ("inferred"), so a reader sees what a researcher
asserted and what follows from it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.labels import LABEL_PROPERTIES, Select, labels_of, local_name, pick
from service.namespaces import GRAPH, GRAPH_CATALOGUE, ONTOLOGY, PREFIXES, RDF_TYPE

Term = dict[str, str]  # an RDF term as SPARQL 1.1 JSON results give it
PROVENANCE_PROPERTIES = frozenset(
    [PREFIXES["dcterms"] + name for name in ("source", "created", "modified", "creator", "license")]
    + [PREFIXES["prov"] + name for name in ("wasGeneratedBy", "wasAttributedTo", "wasDerivedFrom", "wasRevisionOf")]
)
SAMV_STUDY = ONTOLOGY + "Study"
OWL_NAMED_INDIVIDUAL = PREFIXES["owl"] + "NamedIndividual"
MAX_INCOMING = 1000


INFERRED_GRAPH = re.compile(re.escape(GRAPH) + r"study/[^/]+/inferred")


def inferred_only(graphs: Iterable[str]) -> bool:
    """Whether a statement stands only in graphs the reasoner wrote (namespaces.inferred_graph)."""
    return all(INFERRED_GRAPH.fullmatch(g) for g in graphs)


# --- resource pages -------------------------------------------------------------------------------------------


@dataclass
class Value:
    term: Term
    graphs: set[str] = field(default_factory=set)
    nested: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # a blank node's own statements


def term_key(term: Mapping[str, str]) -> tuple[str, ...]:
    return (term["type"], term["value"], term.get("xml:lang", ""), term.get("datatype", ""))


def describe(
    select: Select, iri: str, lang: str, names: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, Any] | None:
    """What the graph says about one IRI, labelled in `lang`; None when it says nothing.

    `names`: labels for other vocabularies' terms (labels.labels_of)."""
    outgoing = select(
        f"SELECT ?g ?p ?o ?bp ?bo WHERE {{ GRAPH ?g {{ <{iri}> ?p ?o "
        f"OPTIONAL {{ FILTER(isBlank(?o)) ?o ?bp ?bo }} }} }}"
    )
    incoming = select(
        f"SELECT ?g ?s ?p WHERE {{ GRAPH ?g {{ ?s ?p <{iri}> }} }} ORDER BY ?p ?s LIMIT {MAX_INCOMING + 1}"
    )
    if not outgoing and not incoming:
        return None
    properties: dict[str, dict[tuple[str, ...], Value]] = {}
    for row in outgoing:
        value = properties.setdefault(row["p"]["value"], {}).setdefault(term_key(row["o"]), Value(row["o"]))
        value.graphs.add(row["g"]["value"])
        if "bp" in row and (row["bp"]["value"], row["bo"]) not in value.nested:
            value.nested.append((row["bp"]["value"], row["bo"]))
    links: dict[tuple[str, str], set[str]] = {}
    for row in incoming[:MAX_INCOMING]:
        if row["s"]["type"] == "uri":
            links.setdefault((row["p"]["value"], row["s"]["value"]), set()).add(row["g"]["value"])
    graphs = sorted({row["g"]["value"] for row in outgoing + incoming})

    iris = {iri, *properties, *(p for p, _ in links), *(s for _, s in links)}
    for values in properties.values():
        for value in values.values():
            iris |= {t["value"] for t in [value.term] + [o for _, o in value.nested] if t["type"] == "uri"}
            iris |= {p for p, _ in value.nested}
    graph_info = graphs_described(select, graphs)
    iris |= {study["iri"] for info in graph_info for study in info["studies"]}
    labels = labels_of(select, iris, names)

    def ref(target: str) -> dict[str, Any]:
        texts = labels.get(target, {})
        return {"iri": target, "label": pick(texts, lang) or local_name(target), "labels": texts}

    def term_json(term: Mapping[str, str]) -> dict[str, Any]:
        if term["type"] == "uri":
            return {"type": "uri", **ref(term["value"])}
        return dict(term)

    def statements(inferred: bool) -> list[dict[str, Any]]:
        """Statements asserted in some graph, or (inferred=True) standing only in the reasoner's graphs."""
        grouped = []
        for prop, values in properties.items():
            kept = [v for v in values.values() if inferred_only(v.graphs) == inferred]
            if not kept:
                continue
            grouped.append(
                {
                    "property": ref(prop),
                    "provenance": prop in PROVENANCE_PROPERTIES,
                    "values": [
                        {
                            **term_json(value.term),
                            "graphs": sorted(value.graphs),
                            **(
                                {"statements": [{"property": ref(p), "value": term_json(o)} for p, o in value.nested]}
                                if value.nested
                                else {}
                            ),
                        }
                        for value in kept
                    ],
                }
            )
        return sorted(
            grouped,
            key=lambda st: (
                st["property"]["iri"] != RDF_TYPE,
                st["property"]["iri"] not in LABEL_PROPERTIES,
                st["property"]["label"].casefold(),
            ),
        )

    def incoming_links(inferred: bool) -> list[dict[str, Any]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for (prop, subject), in_graphs in sorted(links.items()):
            if inferred_only(in_graphs) == inferred:
                grouped.setdefault(prop, []).append({**ref(subject), "graphs": sorted(in_graphs)})
        return [{"property": ref(p), "subjects": subjects} for p, subjects in grouped.items()]

    studies: dict[str, dict[str, Any]] = {}
    for info in graph_info:
        for study in info["studies"]:
            studies.setdefault(study["iri"], {**ref(study["iri"]), "graph": info["iri"]})
    asserted_graphs = Counter(
        g for values in properties.values() for v in values.values() if not inferred_only(v.graphs) for g in v.graphs
    )
    asserted_types = [v.term for v in properties.get(RDF_TYPE, {}).values() if not inferred_only(v.graphs)]
    return {
        "iri": iri,
        "label": pick(labels.get(iri, {}), lang) or local_name(iri),
        "labels": labels.get(iri, {}),
        "types": [term_json(t) for t in asserted_types if t["value"] != OWL_NAMED_INDIVIDUAL],
        "statements": statements(inferred=False),
        "inferred": statements(inferred=True),
        "incoming": incoming_links(inferred=False),
        "incoming_inferred": incoming_links(inferred=True),
        "incoming_truncated": len(incoming) > MAX_INCOMING,
        "graphs": graph_info,
        "main_graph": asserted_graphs.most_common(1)[0][0] if asserted_graphs else None,
        "studies": list(studies.values()),
    }


def graphs_described(select: Select, graphs: Sequence[str]) -> list[dict[str, Any]]:
    """Each graph's title, source files and load time (the catalogue), and the studies it holds."""
    if not graphs:
        return []
    values = " ".join(f"<{g}>" for g in graphs)
    dcterms = PREFIXES["dcterms"]
    catalogue = select(
        f"SELECT ?g ?p ?o WHERE {{ VALUES ?g {{ {values} }} VALUES ?p {{ <{dcterms}title> <{dcterms}source> "
        f"<{dcterms}modified> }} GRAPH <{GRAPH_CATALOGUE}> {{ ?g ?p ?o }} }}"
    )
    # The studies a graph holds: whole studies (not sub-studies or phases), asserted there (not inferred).
    studies = select(
        f"SELECT DISTINCT ?g ?study WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?study a ?type }} "
        f"?type <{PREFIXES['rdfs']}subClassOf>* <{SAMV_STUDY}> "
        f"FILTER NOT EXISTS {{ ?study <{ONTOLOGY}partOf> ?whole }} }}"
    )
    described = []
    for graph in graphs:
        facts = [row for row in catalogue if row["g"]["value"] == graph]
        by = {
            name: sorted(r["o"]["value"] for r in facts if r["p"]["value"] == dcterms + name)
            for name in ("title", "source", "modified")
        }
        described.append(
            {
                "iri": graph,
                "title": (by["title"] or [graph[len(GRAPH) :] if graph.startswith(GRAPH) else graph])[0],
                "sources": by["source"],
                "loaded": by["modified"][0] if by["modified"] else None,
                "studies": [
                    {"iri": r["study"]["value"]}
                    for r in studies
                    if r["g"]["value"] == graph and not INFERRED_GRAPH.fullmatch(graph)
                ],
            }
        )
    return described


def exists(select: Select, iri: str) -> bool:
    return bool(select(f"SELECT ?x WHERE {{ {{ <{iri}> ?p ?x }} UNION {{ ?x ?p <{iri}> }} }} LIMIT 1"))
