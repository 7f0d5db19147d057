"""IRIs of the Samverkan KG: one place for the namespaces and graph names every module shares."""

from __future__ import annotations

BASE = "https://w3id.org/samverkan/"
ONTOLOGY = BASE + "ontology#"
ONTOLOGY_IRI = BASE + "ontology"
ID = BASE + "id/"
GRAPH = BASE + "graph/"

GRAPH_ONTOLOGY = GRAPH + "ontology"
GRAPH_VOCABULARIES = GRAPH + "vocabularies"
GRAPH_REFERENCE = GRAPH + "reference"
GRAPH_CATALOGUE = GRAPH + "catalogue"


def study_graph(study_id: str) -> str:
    """Named graph holding one study's asserted data."""
    return f"{GRAPH}study/{study_id}"


def counts_graph(study_id: str) -> str:
    """The graph of a study's comparison table (service/ingest/counts.py)."""
    return f"{GRAPH}study/{study_id}/counts"


def inferred_graph(study_id: str) -> str:
    """Named graph holding what the reasoner inferred from one study (kept apart so queries can leave it out)."""
    return f"{GRAPH}study/{study_id}/inferred"


def municipality_iri(kommunkod: str) -> str:
    return f"{ID}kommun/{kommunkod}"


def county_iri(lanskod: str) -> str:
    return f"{ID}lan/{lanskod}"


PREFIXES: dict[str, str] = {
    "samv": ONTOLOGY,
    "id": ID,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "org": "http://www.w3.org/ns/org#",
    "cv": "http://data.europa.eu/m8g/",
    "disco": "http://rdf-vocabulary.ddialliance.org/discovery#",
    "void": "http://rdfs.org/ns/void#",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
}

RDF_TYPE = PREFIXES["rdf"] + "type"
XSD = PREFIXES["xsd"]


def curie(iri: str) -> str:
    """The IRI shortened with our usual prefixes (samv:Actor, id:kommun/1980), or unchanged.

    rdflib's NamespaceManager.curie splits an IRI at its last '/' or '#' before it looks for a prefix, so it
    cannot write id:kommun/1980; the longest of our namespaces that starts the IRI is taken instead.
    """
    best = max((ns for ns in PREFIXES.values() if iri.startswith(ns) and len(iri) > len(ns)), key=len, default=None)
    if best is None:
        return iri
    prefix = next(p for p, ns in PREFIXES.items() if ns == best)
    return f"{prefix}:{iri[len(best) :]}"
