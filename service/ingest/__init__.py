"""Files in, RDF out: every reader names the file, row/line and column of what it cannot read."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox


class DataFileError(ValueError):
    """A data file that cannot be read; the message says where and what is wrong."""

    def __init__(
        self,
        path: Path | str,
        message: str,
        row: int | None = None,
        column: str | None = None,
        place: str | None = None,
    ) -> None:
        """`place` names where in a file that has no rows (e.g. a selection of a REFI-QDA project) in place of
        the row number, which then only orders the problems."""
        self.path = str(path)
        self.row = row
        self.column = column
        self.message = message
        where = self.path + (f", {place}" if place else f", row {row}" if row is not None else "")
        where += f", column '{column}'" if column and not place else f" ({column})" if column else ""
        super().__init__(f"{where}: {message}")


RDF_EXTENSIONS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
    ".xml": ox.RdfFormat.RDF_XML,
    ".jsonld": ox.RdfFormat.JSON_LD,
    ".json": ox.RdfFormat.JSON_LD,
    ".trig": ox.RdfFormat.TRIG,
    ".nq": ox.RdfFormat.N_QUADS,
}


def rdf_format_of(path: Path) -> ox.RdfFormat:
    try:
        return RDF_EXTENSIONS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(RDF_EXTENSIONS))
        raise DataFileError(path, f"unknown RDF file type '{path.suffix}'; use one of {known}") from None


def read_rdf(path: Path, base_iri: str | None = None) -> list[ox.Triple]:
    """All triples of an RDF file (for TriG/N-Quads, the triples of every graph in it)."""
    rdf_format = rdf_format_of(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataFileError(path, f"cannot be read ({error.strerror})") from error
    try:
        return [quad.triple for quad in ox.parse(data, format=rdf_format, base_iri=base_iri)]
    except SyntaxError as error:
        raise DataFileError(path, f"is not valid {rdf_format.name}: {error}") from error
