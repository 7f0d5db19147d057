"""The `samverkan` command: serve the graph, and get data in and out of the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from service.config import Config


def store_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The same store choice for every command: embedded (in memory or --store PATH) or remote."""
    options = [
        click.option(
            "--store", "store_path", type=click.Path(file_okay=False), help="On-disk store folder (default: in memory)."
        ),
        click.option("--query-url", help="Use a remote SPARQL 1.1 server: its query endpoint URL."),
        click.option("--update-url", help="The remote server's SPARQL Update endpoint URL (for loading)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


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
    help="Folder holding ontology/ and data/ to load (default: this repository).",
)
@click.option(
    "--shipped-data/--no-shipped-data",
    "load_shipped_data",
    default=None,
    help="Load ontology/ and data/ into the store (default), or serve only what the store already holds.",
)
@click.option("--query-timeout", type=click.FloatRange(min=0.1), help="Seconds a query may run [default: 10].")
@click.option("--max-rows", type=click.IntRange(min=1), help="Rows (or triples) in one answer [default: 100000].")
@click.option(
    "--query-workers", type=click.IntRange(min=1), help="Processes running queries on the embedded store [default: 4]."
)
@click.option("--max-request-bytes", type=click.IntRange(min=1), help="Largest request body [default: 2 MiB].")
@click.option("--max-query-chars", type=click.IntRange(min=1), help="Longest query text [default: 100000].")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="HTTP worker processes.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1), help="Threads per HTTP worker.")
def serve(host: str, port: int, workers: int, threads: int, **settings: Any) -> None:
    """Start the SPARQL endpoint (http://HOST:PORT/sparql).

    Every option but --host, --port, --workers and --threads is a setting of service/config.py of the same name.
    """
    from service import serving

    config = Config(**{name: value for name, value in settings.items() if value is not None})
    click.echo(f"Samverkan KG: loading, then serving at http://{host}:{port}/sparql", err=True)
    problem = serving.serve(config, host, port, workers, threads)
    if problem:
        raise click.ClickException(problem)


@main.command(name="import")
@store_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--graph", required=True, help="IRI of the named graph to (re)place the file's triples in.")
def import_(store_path: str | None, query_url: str | None, update_url: str | None, file: Path, graph: str) -> None:
    """Load any RDF file into its own named graph, replacing what that graph held."""
    import hashlib

    from service.app import open_store
    from service.catalogue import GraphContent, replace_graphs
    from service.ingest import DataFileError, read_rdf

    store = open_store(Config(store_path=store_path, query_url=query_url, update_url=update_url))
    try:
        triples = read_rdf(file)
    except DataFileError as error:
        raise click.ClickException(str(error)) from error
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    replace_graphs(store, [GraphContent(graph, triples, [str(file)], digest)])
    click.echo(f"{len(triples)} triples from {file} in <{graph}>")


if __name__ == "__main__":
    main()
