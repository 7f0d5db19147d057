"""The data shipped in this repository, graph by graph, and keeping a store in step with it.

Each source is a set of files that makes one or more named graphs (a study makes its own graph and the graph
of what the reasoner inferred from it). A digest of those files, of the files the result also depends on (the
ontology a study is reasoned against) and of this package's code (the code that reads them is part of the
result) is kept in the catalogue graph, so a start-up rebuilds only the sources whose files changed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pyoxigraph as ox

import service
from service import collector
from service.catalogue import GraphContent, recorded_digests, replacing
from service.config import HERMIT_MAX_TRIPLES
from service.ingest import DataFileError, read_rdf
from service.ingest.counts import study_counts
from service.ingest.crosswalk import crosswalk_files
from service.ingest.progress import Progress
from service.ingest.reference import reference_triples
from service.ingest.refiqda import project_files
from service.ingest.schema import Schema
from service.ingest.sheets import sheet_files
from service.ingest.study import check_study, read_study, reason_over
from service.ingest.study_yaml import study_id
from service.ingest.studygraph import STUDY_FILE
from service.namespaces import (
    BASE,
    GRAPH_ONTOLOGY,
    GRAPH_REFERENCE,
    GRAPH_VOCABULARIES,
    counts_graph,
    inferred_graph,
    study_graph,
)
from service.store import Store


@dataclass(frozen=True)
class BuiltGraph:
    """One named graph's new triples, with the title the catalogue gives it."""

    graph: str
    title: str
    triples: list[ox.Triple]
    ntriples: list[bytes] | None = None  # the same, written as N-Triples already (a study's: StudyText), for the store


@functools.cache
def code_digest() -> str:
    """A digest of this package's code: the code that reads the files is part of what a source builds, so a
    changed reader (or reasoner) rebuilds every graph, as a changed file rebuilds its own."""
    sha = hashlib.sha256()
    package = Path(service.__file__).parent
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.rq")]):
        sha.update(str(path.relative_to(package)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


@dataclass(frozen=True)
class BuildCache:
    """Graphs built before, by digest: a new in-memory store need not validate and reason over every study again.

    A digest covers the source files, everything the result depends on and the package's code, so an entry
    is never stale; a cache that cannot be written is simply not used.
    """

    folder: Path

    def get(self, digest: str) -> list[BuiltGraph] | None:
        try:
            titles: dict[str, str] = json.loads((self.folder / f"{digest}.json").read_text(encoding="utf-8"))
            quads = ox.parse(path=self.folder / f"{digest}.nq", format=ox.RdfFormat.N_QUADS)
        except (OSError, ValueError):
            return None
        triples: dict[str, list[ox.Triple]] = {graph: [] for graph in titles}
        for quad in quads:
            triples[quad.graph_name.value].append(quad.triple)
        return [BuiltGraph(graph, title, triples[graph]) for graph, title in titles.items()]

    def put(self, digest: str, built: list[BuiltGraph]) -> None:
        quads = [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(b.graph)) for b in built for t in b.triples]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ox.serialize(quads, self.folder / f"{digest}.nq.tmp", format=ox.RdfFormat.N_QUADS)
            os.replace(self.folder / f"{digest}.nq.tmp", self.folder / f"{digest}.nq")
            titles = {b.graph: b.title for b in built}
            (self.folder / f"{digest}.json").write_text(json.dumps(titles), encoding="utf-8")
        except OSError:
            pass


@dataclass(frozen=True)
class GraphSource:
    """Files that make one or more named graphs, built only when `sync` (or `samverkan load`) needs them."""

    graphs: tuple[str, ...]  # the named graphs built from these files
    root: Path
    files: tuple[Path, ...]  # relative to root; named as the graphs' sources in the catalogue
    build: Callable[[], Iterable[BuiltGraph]]  # graph by graph, in the order of `graphs`, each as soon as it is made
    inputs: tuple[Path, ...] = ()  # relative to root: other files the result depends on

    def digest(self) -> str:
        sha = hashlib.sha256(code_digest().encode())
        for name in (*self.files, *self.inputs):
            path = self.root / name
            sha.update(str(name).encode())
            try:
                sha.update(path.read_bytes())
            except OSError as error:
                raise DataFileError(path, f"cannot be read ({error.strerror})") from error
        return sha.hexdigest()

    def contents(self, digest: str, cache: BuildCache | None = None) -> Iterator[GraphContent]:
        """Build the graphs (this is where a study is validated and reasoned over) with their catalogue data, each
        given as soon as it is made, so it can be stored while the next is made."""
        sources = [str(name) for name in self.files]
        cached = cache.get(digest) if cache else None
        made: list[str] = []
        kept: list[BuiltGraph] = []  # for the cache only: otherwise a graph is let go once it is stored
        with collector.paused():  # a study's rows become millions of terms and triples
            for built in cached if cached is not None else self.build():
                made.append(built.graph)
                if cache and cached is None:
                    kept.append(replace(built, ntriples=None))  # the store takes the text as it writes it
                yield GraphContent(built.graph, built.triples, sources, digest, built.title, ntriples=built.ntriples)
        assert made == list(self.graphs), "a source builds the graphs it names"
        if cache and cached is None:
            cache.put(digest, kept)


def _rdf_source(graph: str, title: str, root: Path, files: tuple[Path, ...]) -> GraphSource:
    def build() -> list[BuiltGraph]:
        return [BuiltGraph(graph, title, [t for f in files for t in read_rdf(root / f, base_iri=BASE)])]

    return GraphSource((graph,), root, files, build)


def study_source(
    root: Path,
    folder: Path,
    schema: Schema,
    progress: Progress | None = None,
    *,
    hermit_max_triples: int = HERMIT_MAX_TRIPLES,
) -> GraphSource:
    """A study folder (study.yaml + coding sheets, REFI-QDA projects and crosswalks, or Turtle files): its graph,
    its inferred graph and its comparison table (service/ingest/counts.py), built together so that they are
    written in one replace and the table cannot disagree with the study.

    `samverkan load` and the start-up share this, so a study is validated and reasoned over the same way.
    """
    if (folder / STUDY_FILE).is_file():
        identifier = study_id(folder)
        sheets, _ = sheet_files(folder)
        files = [folder / STUDY_FILE, *sheets, *project_files(folder), *crosswalk_files(folder)]
    else:
        identifier = folder.name
        files = sorted(folder.glob("*.ttl"))

    def build() -> Iterator[BuiltGraph]:
        steps = progress or Progress()
        read = read_study(folder, schema, steps)
        pieces = read.text.pieces if read.text else None  # what the reasoner's store was loaded from, for the store
        yield BuiltGraph(study_graph(identifier), read.title, read.asserted, pieces)  # stored while checked, reasoned
        study = check_study(folder, schema, steps, read)
        del read  # the terms the study was built from, before the reasoner fills its store
        inference = reason_over(folder, study, steps, hermit_max_triples=hermit_max_triples)
        title, size = study.title, len(study.asserted) + len(inference.facts)
        del study
        yield BuiltGraph(inferred_graph(identifier), f"Inferred from: {title}", inference.facts)
        steps.start("counting for comparisons", "triples")
        counts = study_counts(identifier, inference.store, schema.counts_structure)
        steps.finish(size)
        del inference
        yield BuiltGraph(counts_graph(identifier), f"Comparison table of: {title}", counts)

    return GraphSource(
        (study_graph(identifier), inferred_graph(identifier), counts_graph(identifier)),
        root,
        tuple(_relative(f, root) for f in files),
        build,
        inputs=tuple(_relative(schema.root / f, root) for f in Schema.FILES),
    )


def _relative(path: Path, root: Path) -> Path:
    resolved, base = path.resolve(), root.resolve()
    return resolved.relative_to(base) if resolved.is_relative_to(base) else resolved


def study_folders(parent: Path) -> list[Path]:
    return sorted(p for p in parent.glob("*") if p.is_dir() and ((p / STUDY_FILE).is_file() or any(p.glob("*.ttl"))))


def shipped_sources(
    root: Path, examples: bool = True, *, hermit_max_triples: int = HERMIT_MAX_TRIPLES
) -> list[GraphSource]:
    """The ontology, the vocabularies, the reference lists, each study under data/studies/ and, unless left out,
    each example study under data/examples/."""
    reference = Path("data", "reference")
    schema = Schema(root)
    sources = [
        _rdf_source(GRAPH_ONTOLOGY, "Samverkan ontology", root, (Path("ontology", "samverkan.ttl"),)),
        _rdf_source(GRAPH_VOCABULARIES, "Samverkan SKOS vocabularies", root, (Path("ontology", "vocabularies.ttl"),)),
    ]
    files = (reference / "lan.csv", reference / "kommuner.csv")
    sources.append(
        GraphSource(
            (GRAPH_REFERENCE,),
            root,
            files,
            lambda: [
                BuiltGraph(
                    GRAPH_REFERENCE,
                    "Swedish municipalities and counties (SCB codes)",
                    reference_triples(*(root / f for f in files)),
                )
            ],
        )
    )
    folders = study_folders(root / "data" / "studies")
    if examples:
        folders += study_folders(root / "data" / "examples")
    sources += [study_source(root, folder, schema, hermit_max_triples=hermit_max_triples) for folder in folders]
    return sources


def sync(store: Store, sources: Sequence[GraphSource], cache: BuildCache | None = None) -> list[str]:
    """Load the sources whose files changed since the last load, in one atomic update.

    A graph is written (in the background, to a store readers do not see yet) as soon as it is made, while the
    next is made; an unreadable file (DataFileError) or any other failure leaves the store exactly as it was.
    Returns the graphs that were loaded.
    """
    recorded = recorded_digests(store)
    changed = []
    for source in sources:
        digest = source.digest()
        if any(recorded.get(graph) != digest for graph in source.graphs):
            changed.append((source, digest))
    graphs = [graph for source, _ in changed for graph in source.graphs]
    if graphs:
        with replacing(store, graphs) as put:
            for source, digest in changed:
                for content in source.contents(digest, cache):
                    put(content)
    return graphs


def load_study(store: Store, source: GraphSource, progress: Progress) -> dict[str, int]:
    """What `samverkan load` does with a study's source: each graph put into one replace as soon as it is made (the
    study's own while it is checked and reasoned over), the step "storing" being what is left to write once the
    last is made. Returns each graph's number of triples."""
    sizes: dict[str, int] = {}
    with replacing(store, source.graphs) as put:
        for content in source.contents(source.digest()):
            put(content)
            sizes[content.graph] = len(content.triples)
        progress.start("storing", "triples")
    progress.finish(sum(sizes.values()))
    return sizes
