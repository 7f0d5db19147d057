"""The `samverkan` command: serve the graph, and get data in and out of the store."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from service.catalogue import replace_graphs
from service.config import WIKIDATA_SPARQL, Config
from service.ingest import DataFileError
from service.store import EmbeddedStore, Store, StoreError

if TYPE_CHECKING:  # the study pipeline (pyshacl, owlready2) is imported only by the commands that use it
    from service.ingest.progress import Progress
    from service.releases import ReleaseArchive


def store_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The same store choice for every command: embedded (in memory or --store PATH) or remote. The command gets
    it as one `store: Config` (its other settings at their defaults)."""

    @functools.wraps(command)
    def with_store(
        *args: Any,
        store_path: str | None,
        query_url: str | None,
        update_url: str | None,
        graph_store_url: str | None,
        **kwargs: Any,
    ) -> Any:
        store = Config(
            store_path=store_path, query_url=query_url, update_url=update_url, graph_store_url=graph_store_url
        )
        return command(*args, store=store, **kwargs)

    options = [
        click.option(
            "--store", "store_path", type=click.Path(file_okay=False), help="On-disk store folder (default: in memory)."
        ),
        click.option("--query-url", help="Use a remote SPARQL 1.1 server: its query endpoint URL."),
        click.option("--update-url", help="The remote server's SPARQL Update endpoint URL (for loading)."),
        click.option(
            "--graph-store-url",
            help="The remote server's Graph Store Protocol endpoint URL: loads send N-Triples there (faster).",
        ),
    ]
    wrapped: Callable[..., Any] = with_store
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


def _existing(store: Config) -> Config:
    """The settings, once an on-disk store is found where they point (opening a missing one would create it)."""
    if store.store_path and not Path(store.store_path, "CURRENT").exists():
        raise click.ClickException(f"there is no store at {store.store_path}")
    return store


@click.group()
@click.version_option(package_name="samverkan-kg")
def main() -> None:
    """Samverkan KG: how Swedish municipalities lead and govern samverkan, as a queryable graph."""


@main.command()
@store_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--data-root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder holding ontology/ and data/ to load, to serve another copy "
    "(default: the shipped one: this repository's, or the installed package's).",
)
@click.option(
    "--shipped-data/--no-shipped-data",
    "load_shipped_data",
    default=None,
    help="Load ontology/ and data/ into the store (default), or serve only what the store already holds.",
)
@click.option(
    "--examples/--no-examples",
    "load_examples",
    default=None,
    help="Load the fictional example studies of data/examples/ beside the real ones (default), or leave them out.",
)
@click.option("--query-timeout", type=click.FloatRange(min=0.1), help="Seconds a query may run [default: 10].")
@click.option("--max-rows", type=click.IntRange(min=1), help="Rows (or triples) in one answer [default: 100000].")
@click.option(
    "--query-workers", type=click.IntRange(min=1), help="Processes running queries on the embedded store [default: 4]."
)
@click.option("--max-request-bytes", type=click.IntRange(min=1), help="Largest request body [default: 2 MiB].")
@click.option("--max-query-chars", type=click.IntRange(min=1), help="Longest query text [default: 100000].")
@click.option(
    "--queries-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the curated saved queries (.rq) [default: the shipped queries/].",
)
@click.option(
    "--user-queries-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder where researchers' saved queries are stored [default: user-queries/ of this repository, or "
    "for an installed package the user's data folder, e.g. ~/.local/share/samverkan-kg/user-queries].",
)
@click.option(
    "--update-token",
    envvar="SAMVERKAN_UPDATE_TOKEN",
    help="Write token: opens /update, writes to /store and saving queries to requests with "
    "'Authorization: Bearer TOKEN'; without it writes are closed [env: SAMVERKAN_UPDATE_TOKEN].",
)
@click.option(
    "--allow-service",
    "allowed_service_endpoints",
    multiple=True,
    metavar="URL",
    envvar="SAMVERKAN_ALLOW_SERVICE",
    callback=lambda _ctx, _param, urls: (WIKIDATA_SPARQL, *urls) if urls else None,
    help="Let SERVICE clauses reach this SPARQL endpoint too (repeatable; Wikidata's is always allowed) "
    "[env: SAMVERKAN_ALLOW_SERVICE, space-separated].",
)
@click.option(
    "--allow-load",
    "allowed_load_sources",
    multiple=True,
    metavar="URL",
    callback=lambda _ctx, _param, urls: urls or None,
    help="Let LOAD in /update fetch from this URL; one ending in '/' allows all under it (repeatable) [default: none].",
)
@click.option(
    "--result-cache-mb",
    type=click.IntRange(min=0),
    help="MiB of answers kept per process while the data is unchanged; 0 turns it off [default: 64].",
)
@click.option(
    "--releases-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the data releases and cited results [default: STORE.releases beside --store].",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="HTTP worker processes.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1), help="Threads per HTTP worker.")
def serve(host: str, port: int, workers: int, threads: int, store: Config, **settings: Any) -> None:
    """Start the SPARQL endpoint (http://HOST:PORT/sparql).

    Every option but --host, --port, --workers and --threads is a setting of service/config.py of the same name.
    """
    from service.http import serving

    config = replace(store, **{name: value for name, value in settings.items() if value is not None})
    click.echo(f"Samverkan KG: loading, then serving at http://{host}:{port}/sparql", err=True)
    problem = serving.serve(config, host, port, workers, threads)
    if problem:
        raise click.ClickException(problem)


@main.command(name="import")
@store_options
@click.argument("args", nargs=-1, metavar="FILE | kolada [FILE]...")
@click.option("--graph", help="IRI of the named graph to (re)place the RDF file's triples in.")
@click.option(
    "--fetch",
    "kpis",
    multiple=True,
    metavar="KPI",
    help="With `kolada`: get this KPI from the Kolada API (repeatable).",
)
@click.option(
    "--years",
    metavar="FIRST-LAST",
    help="With --fetch: the years to get (e.g. 2010-2024; default 1990 to this year).",
)
@click.option(
    "--kolada-url", default="https://api.kolada.se/v3", show_default=True, help="The Kolada API (v3) to fetch from."
)
def import_(
    store: Config,
    args: tuple[str, ...],
    graph: str | None,
    kpis: tuple[str, ...],
    years: str | None,
    kolada_url: str,
) -> None:
    """Load any RDF file into its own named graph (`import FILE --graph IRI`), replacing what that graph held;
    or Kolada key figures (`import kolada FILE... [--fetch KPI...]`, see docs/linking.md)."""
    import hashlib

    from service.catalogue import GraphContent
    from service.ingest import read_rdf

    existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)
    if args[:1] == ("kolada",):
        _import_kolada(store, [existing_file.convert(a, None, None) for a in args[1:]], kpis, years, kolada_url)
        return
    if len(args) != 1 or not graph:
        raise click.UsageError("give one RDF file and --graph IRI (or `kolada FILE...` for Kolada key figures)")
    file = existing_file.convert(args[0], None, None)
    try:
        triples = read_rdf(file)
    except DataFileError as error:
        raise click.ClickException(str(error)) from error
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    with _nothing_loaded_on_store_error():
        replace_graphs(_open(store), [GraphContent(graph, triples, [str(file)], digest)])
    click.echo(f"{len(triples)} triples from {file} in <{graph}>")


def _import_kolada(config: Config, files: list[Path], kpis: tuple[str, ...], years: str | None, api: str) -> None:
    from service.linking import kolada

    if not files and not kpis:
        raise click.UsageError("give Kolada JSON files, or --fetch KPI to get them from the Kolada API")
    try:
        span = kolada.year_span(years) if years else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--years") from error
    store = _open(config)
    try:
        pages = kolada.read_pages(files)
        if kpis:
            wanted = [kpi for given in kpis for kpi in given.split(",") if kpi]
            pages += kolada.fetch(wanted, sorted(kolada.known_municipalities(store)), span, api)
        imported, empty = kolada.import_pages(store, pages)
    except kolada.KoladaFetchError as error:
        raise click.ClickException(f"{error}\nNothing was stored; try again when Kolada answers.") from error
    except (DataFileError, StoreError) as error:
        raise click.ClickException(str(error)) from error
    for line in imported:
        click.echo(str(line))
    if empty:
        click.echo(f"{empty} values Kolada gives as null (not measured) were left out")


@main.group()
def link() -> None:
    """Link our resources to other datasets by shared identifiers (never by name)."""


@link.command(name="wikidata")
@store_options
@click.option(
    "--endpoint", default=WIKIDATA_SPARQL, show_default=True, help="The SPARQL endpoint holding Wikidata's data."
)
def link_wikidata(store: Config, endpoint: str) -> None:
    """Link municipalities, counties and organisations to Wikidata by kommunkod (P525), länskod (P507) and
    organisationsnummer (P6460), as skos:exactMatch in graph/linkset/wikidata. Codes with no entity or
    several are printed, not linked."""
    from service.linking.wikidata import LinkError, link_wikidata

    try:
        report = link_wikidata(_open(store), endpoint)
    except (LinkError, StoreError) as error:
        raise click.ClickException(f"{error}; the links were not changed") from error
    for line in report.problems():
        click.echo(line)
    click.echo(report.summary())


def _terminal_progress() -> Progress:
    """Progress lines on stderr when it is a terminal; silent (but timed) otherwise."""
    from service.ingest.progress import Progress

    return Progress(sys.stderr if sys.stderr.isatty() else None)


def _refused(error: DataFileError) -> click.ClickException:
    """Every problem of a study on its own line (stdout), then a one-line error."""
    from service.ingest.studygraph import StudyProblems

    if isinstance(error, StudyProblems):
        for problem in error.problems:
            click.echo(str(problem))
        count = len(error.problems)
        return click.ClickException(f"{count} problem{'s' if count != 1 else ''} in {error.path}; nothing was loaded")
    return click.ClickException(str(error))


def _counts(progress: Progress) -> str:
    rows = next((step.count for step in progress.steps if step.unit == "rows"), None)
    parts = [f"{count} {name}" for name, count in progress.counts.items()]
    return (f"{rows} rows: " if rows is not None else "") + ", ".join(parts)


@main.command()
@store_options
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def validate(store: Config, folder: Path) -> None:
    """Check a study folder (study.yaml + coding sheets) and list every problem at once; writes nothing.

    Values are resolved against the reference list and vocabularies, the graph is checked with the SHACL
    shapes (ontology/shapes.ttl) and by the reasoner. With a store option, also says whether loading would
    replace a study the store holds. The format: docs/study-format.md.
    """
    from service.ingest.schema import Schema
    from service.ingest.study import prepare_study
    from service.namespaces import study_graph

    progress = _terminal_progress()
    try:
        study = prepare_study(folder, Schema(Config().data_root), progress)
    except DataFileError as error:
        raise _refused(error) from error
    counts = _counts(progress)
    click.echo(
        f"Study '{study.study_id}' ({study.title}) is valid: {counts + '; ' if counts else ''}"
        f"{len(study.asserted)} triples, {len(study.inferred)} inferred facts."
    )
    if store.store_path and not Path(store.store_path, "CURRENT").exists():
        return  # no store there yet: nothing to replace, and opening it would create it
    if store.store_path or store.query_url:
        held = study_graph(study.study_id) in _open(store).named_graphs()
        where = store.store_path or store.query_url
        click.echo(f"Loading it would {'replace the' if held else 'add a new'} study graph in {where}.")


@main.command()
@store_options
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def load(store: Config, folder: Path) -> None:
    """Validate, reason over and store a study folder, replacing that study's graphs in one atomic update.

    On any problem nothing in the store changes. The study goes to graph/study/{id}, what the reasoner
    inferred to graph/study/{id}/inferred and its comparison table to graph/study/{id}/counts; other studies
    are not touched.
    """
    from service.ingest.schema import Schema
    from service.ingest.shipped import load_study, study_source

    if not store.store_path and not store.query_url:
        raise click.UsageError(
            "give --store PATH (an on-disk store) or --query-url and --update-url (a SPARQL server): "
            "a study loaded into an in-memory store would be gone when the command ends"
        )
    config = store
    started = time.perf_counter()
    with _nothing_loaded_on_store_error():
        target = _open(config)  # before the work: a store that cannot be opened is said at once
    progress = _terminal_progress()
    try:
        source = study_source(config.data_root, folder, Schema(config.data_root), progress)
        with _nothing_loaded_on_store_error():
            sizes = load_study(target, source, progress)
    except DataFileError as error:
        raise _refused(error) from error
    (asserted, triples), (inferred, facts), (table, counted) = sizes.items()
    counts = _counts(progress)
    click.echo(f"Loaded {folder} in {time.perf_counter() - started:.1f} s" + (f" ({counts}):" if counts else ":"))
    click.echo(f"  <{asserted}>  {triples:,} triples")
    click.echo(f"  <{inferred}>  {facts:,} inferred facts")
    click.echo(f"  <{table}>  {counted:,} triples of counts for comparisons")
    click.echo("  " + ", ".join(f"{step.name} {step.seconds:.1f} s" for step in progress.steps))


@main.group(invoke_without_command=True)
@store_options
@click.option("--graph", help="Only this named graph (default: every graph in the store).")
@click.option("--format", "format_name", type=click.Choice(["trig", "nquads"]), default="trig", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write [default: stdout]."
)
@click.pass_context
def export(
    context: click.Context,
    store: Config,
    graph: str | None,
    format_name: str,
    output: Path | None,
) -> None:
    """Write the store's named graphs (or one of them) as TriG or N-Quads; or our codebook (`export codebook`)."""
    from service.export import quads, serialize

    if context.invoked_subcommand is not None:
        return

    try:
        found = quads(_open(_existing(store)), graph)
    except StoreError as error:
        raise click.ClickException(str(error)) from error
    if graph and not found:
        raise click.ClickException(f"the store has no graph <{graph}> (or it is empty)")
    data = serialize(found, format_name)
    if output:
        output.write_bytes(data)
        click.echo(f"{len(found):,} quads written to {output}", err=True)
    else:
        click.echo(data.decode("utf-8"), nl=False)


@export.command(name="codebook")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--language", type=click.Choice(["sv", "en"]), default="sv", show_default=True, help="Labels in.")
def export_codebook(file: Path, language: str) -> None:
    """Write our vocabularies as a REFI-QDA codebook (.qdc) to import into NVivo, ATLAS.ti or MAXQDA before
    coding (docs/study-format.md, "From NVivo, ATLAS.ti or MAXQDA")."""
    from service.ingest.schema import Schema

    codebook = Schema(Config().data_root).codebook
    file.write_bytes(codebook.qdc(language))
    click.echo(f"{len(codebook.by_guid)} codes written to {file}", err=True)


def releases_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--releases-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder of the releases [default: STORE.releases beside --store].",
    )(command)


def _archive(store: Config, releases_dir: Path | None) -> tuple[ReleaseArchive, EmbeddedStore]:
    """The on-disk store and its releases; a clear error for the in-memory store (gone when the command ends) and
    for a remote one."""
    from service.releases import open_archive

    if not store.store_path and not store.query_url:
        raise click.UsageError(
            "give --store PATH: releases are made of an on-disk store (the in-memory one is gone when the command ends)"
        )
    config = replace(_existing(store), releases_dir=releases_dir)
    opened = _open(config)
    try:
        archive = open_archive(config, opened)
    except StoreError as error:
        raise click.ClickException(str(error)) from error
    assert isinstance(opened, EmbeddedStore)
    return archive, opened


@main.command()
@store_options
@releases_option
@click.option("--note", default="", help="What this release is, e.g. 'after loading the 2021 study'.")
def release(store: Config, releases_dir: Path | None, note: str) -> None:
    """Freeze the store's present data as a release that results can be cited on (docs/citing.md).

    Prints the release's identifier (date and short content hash). Data equal to an existing release makes no
    new one: that release becomes the current one again.
    """
    archive, opened = _archive(store, releases_dir)
    try:
        made, new = archive.make(opened, note)
    except StoreError as error:
        raise click.ClickException(f"{error}; no release was made") from error
    if new:
        click.echo(f"Release {made.id}: {made.triples:,} triples in {len(made.graphs)} graphs, in {archive.root}")
    else:
        click.echo(f"The data equals release {made.id} ({made.note or 'no note'}); no new release was made.")


@main.command()
@store_options
@releases_option
@click.option("--delete", "delete_id", metavar="ID", help="Delete this release (its cite URLs then answer 410 Gone).")
def releases(store: Config, releases_dir: Path | None, delete_id: str | None) -> None:
    """List the releases, newest first, and whether the store's data still equals the last one; or delete one."""
    from service.releases import ReleaseGone, UnknownRelease

    archive, opened = _archive(store, releases_dir)
    if delete_id:
        try:
            gone = archive.delete(delete_id)
        except (UnknownRelease, ReleaseGone) as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Deleted release {gone.id}.")
        return
    for made in archive.list():
        click.echo(f"{made.id}  {made.created:%Y-%m-%d %H:%M}Z  {made.triples:>10,} triples  {made.note}")
    status = archive.status(opened)
    if status.release is None:
        click.echo("No releases yet: make one with `samverkan release --store PATH`.")
    elif status.current:
        click.echo(f"The store's data equals release {status.release.id}.")
    else:
        click.echo(f"The store's data has changed since release {status.release.id}.")


@export.command(name="study")
@click.argument("study_id")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@store_options
def export_study(study_id: str, file: Path, store: Config) -> None:
    """Write a loaded study as a REFI-QDA project (.qdpx): its quotes in their sources, its codings, coders, own
    codebook and our codes it uses (docs/study-format.md, "A study out as a REFI-QDA project")."""
    from service.ingest.refiqda_export import export_project, stored_study
    from service.ingest.schema import Schema

    try:
        graph = stored_study(_open(_existing(store)), study_id)
    except StoreError as error:
        raise click.ClickException(str(error)) from error
    if not len(graph):
        raise click.ClickException(f"the store has no study '{study_id}'; load it first (samverkan load FOLDER)")
    schema = Schema(Config().data_root)
    project = export_project(graph, study_id, schema.codebook, schema.resolver)
    file.write_bytes(project.data)
    for note in project.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{project.observations} coded observations written to {file}", err=True)


@contextmanager
def _nothing_loaded_on_store_error() -> Iterator[None]:
    """A store that refuses a load (cannot be opened, is busy, fails a write) as a command-line error."""
    try:
        yield
    except StoreError as error:
        raise click.ClickException(f"{error}; nothing was loaded") from error


def _open(config: Config) -> Store:
    from service.store import open_store

    return open_store(config)


if __name__ == "__main__":
    main()
