"""The store's contents as a file (TriG or N-Quads): every named graph, or one.

Read with a SPARQL query through the Store protocol, so it works the same for the embedded store and a
remote SPARQL server. Quads are sorted, so two exports of the same data are byte for byte the same (a test
compares a store before and after a refused load this way).
"""

from __future__ import annotations

import pyoxigraph as ox

from service.namespaces import PREFIXES
from service.store import Store

FORMATS = {"trig": ox.RdfFormat.TRIG, "nquads": ox.RdfFormat.N_QUADS}


def quads(store: Store, graph: str | None = None) -> list[ox.Quad]:
    """The quads of every named graph, or of `graph` only, sorted."""
    if graph:
        result = store.query(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    else:
        result = store.query("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert isinstance(result, ox.QuerySolutions)
    found = [ox.Quad(row["s"], row["p"], row["o"], ox.NamedNode(graph) if graph else row["g"]) for row in result]
    return sorted(found, key=lambda q: (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object)))


def serialize(found: list[ox.Quad], format_name: str) -> bytes:
    # Without the id: prefix: IRIs such as id/kommun/0484 would need escaped slashes as prefixed names.
    prefixes = {k: v for k, v in PREFIXES.items() if k != "id"} if format_name == "trig" else None
    data = ox.serialize(found, format=FORMATS[format_name], prefixes=prefixes)
    assert isinstance(data, bytes)
    return data
