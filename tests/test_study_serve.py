"""Studies at start-up: `samverkan serve` loads the seed study and the fictional examples (each with its inferred
graph), `--no-examples` leaves the examples out, a broken example stops the start with its file, row and
column, and only changed study folders are rebuilt."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, Client, in_process, samverkan

from service.ingest.shipped import shipped_sources, sync
from service.namespaces import counts_graph, inferred_graph, study_graph
from service.store import EmbeddedStore

SEED = "samverkan-som-strategi"
EXAMPLES = sorted(p.name for p in (ROOT / "data" / "examples").iterdir() if (p / "study.yaml").is_file())


def select(server: Client, query: str) -> list[dict[str, str]]:
    response = server.post(
        server.url + "/sparql",
        data={"query": "PREFIX samv: <https://w3id.org/samverkan/ontology#>\n" + query},
        headers={"Accept": "application/sparql-results+json"},
        timeout=60,
    )
    response.raise_for_status()
    return [{k: v["value"] for k, v in row.items()} for row in response.json()["results"]["bindings"]]


def graphs(server: Client) -> set[str]:
    return {row["g"] for row in select(server, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")}


def test_serve_loads_the_seed_and_the_examples_each_with_an_inferred_graph(client: Client) -> None:
    assert len(EXAMPLES) >= 2
    for study in [SEED, *EXAMPLES]:
        assert {study_graph(study), inferred_graph(study)} <= graphs(client), study
    fictional = select(client, "SELECT ?study ?fictional WHERE { ?study samv:fictional ?fictional }")
    assert {row["fictional"] for row in fictional} == {"true"}
    assert len(fictional) == len(EXAMPLES)
    inter_municipal = select(
        client,
        "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { "
        "GRAPH ?g { ?c a samv:InterMunicipalCollaboration } FILTER(STRENDS(STR(?g), '/inferred')) }",
    )
    assert int(inter_municipal[0]["n"]) > 0


@pytest.fixture(scope="module")
def without_examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with in_process(tmp_path_factory.mktemp("no-examples"), load_examples=False) as server:
        yield server


def test_no_examples_leaves_them_out(without_examples: Client) -> None:
    loaded = graphs(without_examples)
    assert {study_graph(SEED), inferred_graph(SEED)} <= loaded
    assert not [g for g in loaded if any(example in g for example in EXAMPLES)]


def data_root(tmp_path: Path) -> Path:
    """The ontology and reference list, no studies: each test adds the study folders it needs."""
    root = tmp_path / "root"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "data" / "reference", root / "data" / "reference")
    shutil.copytree(ROOT / "data" / "templates", root / "data" / "examples" / "mall")
    return root


def test_a_broken_example_stops_serve_with_file_row_and_column(tmp_path: Path) -> None:
    root = data_root(tmp_path)
    sheet = root / "data" / "examples" / "mall" / "coding-sheet.csv"
    sheet.write_text(sheet.read_text(encoding="utf-8").replace(",samverkansavtal,", ",samverkansavtall,"))
    result = subprocess.run(
        samverkan("serve", "--data-root", str(root), "--port", "1"), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1
    assert (
        f"{sheet}, row 2, column 'form': 'samverkansavtall' is not a known collaboration form (samverkansform); "
        "closest: 'samverkansavtal', 'samverkansprojekt', 'samarbetsavtal'"
    ) in result.stderr
    assert "Traceback" not in result.stderr


def test_only_changed_study_folders_are_rebuilt(tmp_path: Path) -> None:
    root = data_root(tmp_path)
    store = EmbeddedStore(str(tmp_path / "store"))
    study = ("min-studie",)
    graphs_of_study = [study_graph(*study), inferred_graph(*study), counts_graph(*study)]
    assert set(graphs_of_study) <= set(sync(store, shipped_sources(root)))
    assert sync(store, shipped_sources(root)) == []
    sheet = root / "data" / "examples" / "mall" / "coding-sheet.csv"
    sheet.write_text(sheet.read_text(encoding="utf-8").replace("s. 12", "s. 13"), encoding="utf-8")
    assert sync(store, shipped_sources(root)) == graphs_of_study
    assert sync(store, shipped_sources(root, examples=False)) == []  # leaving examples out changes no graph
