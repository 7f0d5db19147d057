"""The data shipped in this repository, graph by graph, and keeping a store in step with it.

Each named graph is built from its own files; a digest of those files (and of this package's
version, since the code that reads them is part of the result) is kept in the catalogue graph,
so a start-up reloads only the graphs whose files changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from service import __version__
from service.catalogue import GraphContent, recorded_digests, replace_graphs
from service.ingest import DataFileError, read_rdf
from service.ingest.reference import reference_triples
from service.namespaces import BASE, GRAPH_ONTOLOGY, GRAPH_REFERENCE, GRAPH_VOCABULARIES, study_graph
from service.store import Store


@dataclass(frozen=True)
class GraphSource:
    graph: str
    title: str
    root: Path
    files: tuple[Path, ...]  # relative to root
    build: Callable[[tuple[Path, ...]], list[ox.Triple]]

    def paths(self) -> tuple[Path, ...]:
        return tuple(self.root / f for f in self.files)

    def digest(self) -> str:
        sha = hashlib.sha256(__version__.encode())
        for name, path in zip(self.files, self.paths(), strict=True):
            sha.update(str(name).encode())
            try:
                sha.update(path.read_bytes())
            except OSError as error:
                raise DataFileError(path, f"cannot be read ({error.strerror})") from error
        return sha.hexdigest()


def _read_all(files: tuple[Path, ...]) -> list[ox.Triple]:
    return [triple for path in files for triple in read_rdf(path, base_iri=BASE)]


def shipped_sources(root: Path) -> list[GraphSource]:
    """The ontology, the vocabularies, the reference lists and each study folder under data/studies/."""
    reference = Path("data", "reference")
    sources = [
        GraphSource(GRAPH_ONTOLOGY, "Samverkan ontology", root, (Path("ontology", "samverkan.ttl"),), _read_all),
        GraphSource(
            GRAPH_VOCABULARIES,
            "Samverkan SKOS vocabularies",
            root,
            (Path("ontology", "vocabularies.ttl"),),
            _read_all,
        ),
        GraphSource(
            GRAPH_REFERENCE,
            "Swedish municipalities and counties (SCB codes)",
            root,
            (reference / "lan.csv", reference / "kommuner.csv"),
            lambda paths: reference_triples(*paths),
        ),
    ]
    for folder in sorted(p for p in (root / "data" / "studies").glob("*") if p.is_dir()):
        files = tuple(sorted(p.relative_to(root) for p in folder.glob("*.ttl")))
        if files:
            sources.append(GraphSource(study_graph(folder.name), f"Study {folder.name}", root, files, _read_all))
    return sources


def sync(store: Store, sources: Sequence[GraphSource]) -> list[str]:
    """Load the sources whose files changed since the last load, in one atomic update.

    Every changed source is read before anything is written, so an unreadable file
    (DataFileError) leaves the store exactly as it was. Returns the graphs that were loaded.
    """
    recorded = recorded_digests(store)
    changed = [(source, source.digest()) for source in sources]
    changed = [(source, digest) for source, digest in changed if recorded.get(source.graph) != digest]
    contents = [
        GraphContent(
            graph=source.graph,
            triples=source.build(source.paths()),
            sources=[str(name) for name in source.files],
            digest=digest,
            title=source.title,
        )
        for source, digest in changed
    ]
    if contents:
        replace_graphs(store, contents)
    return [content.graph for content in contents]
