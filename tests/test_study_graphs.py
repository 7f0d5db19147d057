"""The graphs the shipped and example studies make, against N-Triples recorded from the pipeline before study
loading stopped building an rdflib graph and running pyshacl over the rows (fixtures/study-graphs/).

A study whose files change on purpose is recorded again with `python tests/test_study_graphs.py` (then look at
`git diff` before committing: every changed line is a changed fact in the store).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from service.ingest.progress import Progress
from service.ingest.schema import Schema
from service.ingest.shipped import BuiltGraph, study_folders, study_source
from service.namespaces import GRAPH

ROOT = Path(__file__).resolve().parents[1]

RECORDED = ROOT / "tests" / "fixtures" / "study-graphs"
FOLDERS = study_folders(ROOT / "data" / "studies") + study_folders(ROOT / "data" / "examples")


def built(folder: Path) -> list[BuiltGraph]:
    """The study's graph and its inferred graph, as `samverkan load` and the start-up build them (its comparison
    table, derived from these two, is checked in test_comparison_cube.py)."""
    graphs = study_source(ROOT, folder, Schema(ROOT), Progress()).build()
    return [graph for graph in graphs if not graph.graph.endswith("/counts")]


def fixture(graph: str) -> Path:
    return RECORDED / (graph.removeprefix(f"{GRAPH}study/").replace("/", "_") + ".nt")


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_a_study_builds_the_graphs_recorded_for_it(folder: Path) -> None:
    for graph in built(folder):
        data = ox.serialize(graph.triples, format=ox.RdfFormat.N_TRIPLES)
        assert data is not None
        got = Graph().parse(data=data, format="nt")
        expected = Graph().parse(fixture(graph.graph), format="nt")
        assert len(got) == len(expected), graph.graph
        assert isomorphic(got, expected), graph.graph  # the seed study's lists are blank nodes


def record() -> None:
    for folder in FOLDERS:
        for graph in built(folder):
            data = ox.serialize(graph.triples, format=ox.RdfFormat.N_TRIPLES)
            assert data is not None
            fixture(graph.graph).write_text("\n".join(sorted(set(data.decode().splitlines()))) + "\n")


if __name__ == "__main__":
    record()
