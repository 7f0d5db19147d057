"""Citable results: a saved query's answer on a data release, named by a URL that gives the same rows for good.

A cite URL names the release, the query, its version and the parameters:

    /cite/2026-05-14-3fa2b9c1/compare-studies-side-by-side/v1?dimension=form&language=sv&study=https://…

The parameters are the values that were bound (a municipality by its IRI, a number in canonical form, a
language-tagged text as `text@sv`, defaults included), sorted by name and then by value, so their order in a
request does not matter and `kommun=Västerås` and `kommun=1980` give the same URL.

The first time a cite URL is issued or resolved, a record is kept beside the releases (`citations/`): when,
the query's text and the exact SPARQL that runs (so a new version of the query, or an edited curated file,
never changes what was cited), and once computed on the release, the row count and the SHA-256 of the result
in its canonical form. Every later resolution computes the rows again on the release's snapshot and checks
them against that hash (CitationMismatch when they differ, never silently).

The canonical form of a SELECT result (what the SHA-256 is taken of) is UTF-8 text:

    - a header line: the variables in the order the query projects them, each written `?name`, joined by a tab;
    - one line per row, sorted by their UTF-8 bytes (so the hash names the rows, not the order they came in):
      each variable's term in N-Triples syntax (`<iri>`, `"text"`, `"text"@sv`, `"12"^^<…#integer>`, with
      N-Triples escapes), a blank node as `_:` (its label differs from run to run), an unbound variable as
      nothing; joined by a tab;
    - every line, the last included, ends with a line feed.

It is the SPARQL 1.1 TSV results format with full literal syntax, sorted rows and blank node labels left out.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
from rocrate.rocrate import ROCrate

from service.executor import Executor, QueryJob
from service.parameters import Term, Text
from service.releases import Release
from service.saved_queries import SavedQuery

CITE_PATH = "/cite"
PUBLISHER = "Samverkan KG"
DATA_LICENCE = "https://creativecommons.org/licenses/by/4.0/"
CITATIONS = "citations"  # the records' folder inside the releases folder


class CitationError(ValueError):
    """The answer cannot be cited: not a SELECT, or more rows than the service gives in one answer."""


class CitationMismatch(RuntimeError):
    """The rows computed again on the release differ from the ones cited: the service must say so, loudly."""


# --- the cite key and its URL ------------------------------------------------------------------------------

Parameters = tuple[tuple[str, tuple[str, ...]], ...]


def normal_value(term: Term) -> str:
    """A bound value as the parameter parsers read it back to the same term (IRIs for things of the graph)."""
    if isinstance(term, ox.NamedNode):
        return term.value
    return f"{term.value}@{term.language}" if term.language else term.value


def normal_parameters(given: Mapping[str, Sequence[str]]) -> Parameters:
    """Names sorted, each name's values sorted and without repeats; empty values and names dropped."""
    kept = {name: sorted({v for v in values if v.strip()}) for name, values in given.items()}
    return tuple((name, tuple(values)) for name, values in sorted(kept.items()) if values)


@dataclass(frozen=True)
class CiteKey:
    """What a cite URL names: release, query, version and the normalised parameters."""

    release: str
    query: str
    version: int
    parameters: Parameters

    @classmethod
    def of(cls, release: str, query: SavedQuery, bindings: Mapping[str, Sequence[Term]]) -> CiteKey:
        """The key of a query's answer with these bound terms (from `parameters.arguments`)."""
        given = {name: [normal_value(term) for term in terms] for name, terms in bindings.items()}
        return cls(release, query.name, query.version, normal_parameters(given))

    def path(self, suffix: str = "") -> str:
        """The cite URL's path and query string (characters that may stand in a query string are kept); `suffix`
        goes after the path, e.g. `/ro-crate.zip` for the RO-Crate of the same result."""
        pairs = "&".join(
            f"{quote(name, safe='')}={quote(value, safe=':/@')}" for name, values in self.parameters for value in values
        )
        return f"{CITE_PATH}/{self.release}/{self.query}/v{self.version}{suffix}" + (f"?{pairs}" if pairs else "")

    def record_name(self) -> str:
        return hashlib.sha256(self.path().encode("utf-8")).hexdigest() + ".json"

    def parameters_json(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in self.parameters}


# --- results in canonical form -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultTable:
    """The rows of a SELECT answer as terms, in the order they came."""

    variables: tuple[str, ...]
    rows: tuple[tuple[Term | ox.BlankNode | None, ...], ...]

    @classmethod
    def from_solutions(cls, solutions: ox.QuerySolutions) -> ResultTable:
        variables = tuple(v.value for v in solutions.variables)
        return cls(variables, tuple(tuple(solution[v] for v in variables) for solution in solutions))

    def canonical(self) -> bytes:
        """The canonical form stated in this module's docstring."""

        def term(value: Term | ox.BlankNode | None) -> str:
            if value is None:
                return ""
            return "_:" if isinstance(value, ox.BlankNode) else str(value)

        header = "\t".join("?" + v for v in self.variables) + "\n"
        lines = sorted(("\t".join(term(value) for value in row) + "\n").encode("utf-8") for row in self.rows)
        return header.encode("utf-8") + b"".join(lines)

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def solutions(self) -> ox.QuerySolutions:
        """The rows as pyoxigraph solutions again, to serialise in any results format (service/formats.py)."""
        lines = ["\t".join("?" + v for v in self.variables)]
        lines += ["\t".join("" if value is None else str(value) for value in row) for row in self.rows]
        solutions = ox.parse_query_results("\n".join(lines) + "\n", format=ox.QueryResultsFormat.TSV)
        assert isinstance(solutions, ox.QuerySolutions)
        return solutions

    def csv(self) -> bytes:
        data = self.solutions().serialize(format=ox.QueryResultsFormat.CSV)
        assert data is not None
        return data


Runner = Callable[[str], ResultTable]
"""Runs a SELECT on a release's snapshot and gives all its rows."""


def snapshot_runner(executor: Executor, snapshot: str) -> Runner:
    """Run on a release's snapshot through the executor, so the service's time limit holds here too."""

    def run(sparql: str) -> ResultTable:
        answer = executor.run(QueryJob(sparql, format="tsv", snapshot=snapshot))
        if answer.kind != "bindings":
            raise CitationError("only the rows of a SELECT query can be cited")
        if answer.truncated:
            raise CitationError(
                f"the result has more than {answer.rows} rows, the most this service gives in one answer; "
                "a citation needs the whole result: narrow the query down"
            )
        solutions = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.TSV)
        assert isinstance(solutions, ox.QuerySolutions)
        return ResultTable.from_solutions(solutions)

    return run


# --- the records -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CitationRecord:
    """What is kept of a cite URL: fixed at its first use, the rows' count and hash once computed."""

    key: CiteKey
    title: Text
    query_text: str  # the .rq file as it was (header included)
    sparql: str  # the query with its parameters bound: exactly what runs on the release
    first_cited: datetime
    rows: int | None = None
    columns: tuple[str, ...] | None = None
    result_sha256: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.key.path(),
            "release": self.key.release,
            "query": self.key.query,
            "version": self.key.version,
            "parameters": self.key.parameters_json(),
            "title": self.title.as_json(),
            "query_text": self.query_text,
            "sparql": self.sparql,
            "first_cited": self.first_cited.isoformat(),
            "rows": self.rows,
            "columns": list(self.columns) if self.columns is not None else None,
            "result_sha256": self.result_sha256,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CitationRecord:
        key = CiteKey(data["release"], data["query"], data["version"], normal_parameters(data["parameters"]))
        return cls(
            key=key,
            title=Text(data["title"]["sv"], data["title"]["en"]),
            query_text=data["query_text"],
            sparql=data["sparql"],
            first_cited=datetime.fromisoformat(data["first_cited"]),
            rows=data["rows"],
            columns=tuple(data["columns"]) if data["columns"] is not None else None,
            result_sha256=data["result_sha256"],
        )


class CitationArchive:
    """The records of cite URLs, one JSON file each, in the releases folder's `citations/`."""

    def __init__(self, releases_root: Path) -> None:
        self.root = releases_root / CITATIONS

    def get(self, key: CiteKey) -> CitationRecord | None:
        try:
            text = (self.root / key.record_name()).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return CitationRecord.from_json(json.loads(text))

    def issue(self, key: CiteKey, query: SavedQuery, sparql: str) -> CitationRecord:
        """The record of a cite URL, made now if this is its first use (handing it out with an answer counts)."""
        if query.form != "select":
            raise CitationError(f"only SELECT results can be cited; '{query.name}' is a {query.form.upper()} query")
        found = self.get(key)
        if found is not None:
            return found
        record = CitationRecord(key, query.title, query.text, sparql, datetime.now(UTC).replace(microsecond=0))
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            with (self.root / key.record_name()).open("x", encoding="utf-8") as handle:
                handle.write(json.dumps(record.as_json(), ensure_ascii=False, indent=2) + "\n")
        except FileExistsError:  # another request issued it first: its record stands
            found = self.get(key)
            assert found is not None
            return found
        return record

    def resolve(self, record: CitationRecord, run: Runner) -> tuple[CitationRecord, ResultTable]:
        """The rows computed on the release with the recorded SPARQL, checked against the recorded hash (the first
        time, the hash is recorded); raises CitationMismatch when they differ from the rows cited."""
        key = record.key
        table = run(record.sparql)
        digest = table.sha256()
        if record.result_sha256 is None:
            record = CitationRecord(
                record.key,
                record.title,
                record.query_text,
                record.sparql,
                record.first_cited,
                len(table.rows),
                table.variables,
                digest,
            )
            path = self.root / key.record_name()
            temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
            temporary.write_text(json.dumps(record.as_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            os.replace(temporary, path)
        elif digest != record.result_sha256:
            raise CitationMismatch(
                f"The rows of {key.path()} computed again on release {key.release} do not match the cited ones: "
                f"{len(table.rows)} rows with SHA-256 {digest}, but {record.rows} rows with SHA-256 "
                f"{record.result_sha256} were cited on {record.first_cited:%Y-%m-%d}. The release or the query "
                "engine has changed; the cited result cannot be reproduced here."
            )
        return record, table


# --- citation texts ----------------------------------------------------------------------------------------


def _bibtex(text: str) -> str:
    """Text safe inside a BibTeX field: LaTeX's special characters escaped."""
    specials = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#"}
    specials |= {"_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(specials.get(char, char) for char in text)


@dataclass(frozen=True)
class CitationTexts:
    plain: str
    bibtex: str
    csl: dict[str, Any]  # one CSL-JSON item

    def as_json(self) -> dict[str, Any]:
        return {"plain": self.plain, "bibtex": self.bibtex, "csl": self.csl}


def citation_texts(record: CitationRecord, release: Release, url: str, lang: str = "en") -> CitationTexts:
    """How to cite the result, in plain text, BibTeX and CSL-JSON (lang: the title's language, sv or en)."""
    title = record.title.sv if lang == "sv" else record.title.en
    key = record.key
    what = f"saved query {key.query}, version {key.version}, on data release {release.id}"
    fixed = f"{record.rows} rows, SHA-256 {record.result_sha256}" if record.result_sha256 else "not yet computed"
    cited = f"{record.first_cited:%Y-%m-%d}"
    plain = f"{PUBLISHER} ({release.created:%Y}). {title} [Data set; {what}]. {url} (result: {fixed}; cited {cited})."
    bibtex = (
        f"@misc{{samverkan-{key.query}-v{key.version}-{release.id},\n"
        f"  author = {{{{{_bibtex(PUBLISHER)}}}}},\n"
        f"  title = {{{{{_bibtex(title)}}}}},\n"
        f"  year = {{{release.created:%Y}}},\n"
        f"  version = {{{release.id}}},\n"
        f"  howpublished = {{\\url{{{url}}}}},\n"
        f"  url = {{{url}}},\n"
        f"  urldate = {{{cited}}},\n"
        f"  note = {{{_bibtex(f'Data set; {what}; result: {fixed}')}}}\n"
        "}\n"
    )
    csl = {
        "id": f"samverkan-{key.query}-v{key.version}-{release.id}",
        "type": "dataset",
        "title": title,
        "author": [{"literal": PUBLISHER}],
        "publisher": PUBLISHER,
        "issued": {"date-parts": [[release.created.year, release.created.month, release.created.day]]},
        "accessed": {"date-parts": [[record.first_cited.year, record.first_cited.month, record.first_cited.day]]},
        "version": release.id,
        "URL": url,
        "note": f"{what}; result: {fixed}",
    }
    return CitationTexts(plain, bibtex, csl)


# --- the RO-Crate --------------------------------------------------------------------------------------------


def _file(crate: ROCrate, name: str, data: bytes, media_type: str, about: str) -> None:
    properties = {
        "name": name,
        "description": about,
        "encodingFormat": media_type,
        "contentSize": str(len(data)),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    crate.add_file(io.BytesIO(data), dest_path=name, properties=properties)


def ro_crate_zip(record: CitationRecord, release: Release, table: ResultTable, url: str) -> bytes:
    """An RO-Crate (ZIP) of the cited result: CSV, canonical form, the .rq, parameters, release and citations."""
    if record.result_sha256 != table.sha256():
        raise CitationMismatch(f"the rows given for {url} are not the cited ones (SHA-256 {record.result_sha256})")
    texts = citation_texts(record, release, url)
    crate = ROCrate()
    crate.name = record.title.en
    crate.description = (
        f"The result of the saved query {record.key.query} (version {record.key.version}) of {PUBLISHER}, "
        f"computed on data release {release.id}."
    )
    crate.license = DATA_LICENCE
    crate.datePublished = record.first_cited.isoformat()
    root = crate.root_dataset
    root["identifier"] = url
    root["cite-as"] = url
    root["creditText"] = texts.plain
    root["version"] = release.id
    root["publisher"] = {"@id": "#publisher"}
    root["author"] = {"@id": "#publisher"}
    crate.add_jsonld({"@id": "#publisher", "@type": "Organization", "name": PUBLISHER})
    crate.add_jsonld(
        {
            "@id": f"#release-{release.id}",
            "@type": "Dataset",
            "name": f"Data release {release.id}",
            "identifier": release.id,
            "description": release.note or f"Data release {release.id}",
            "dateCreated": release.created.isoformat(),
            "sha256": release.content_hash,
        }
    )
    root["isBasedOn"] = {"@id": f"#release-{release.id}"}
    _file(crate, "result.csv", table.csv(), "text/csv", f"The {len(table.rows)} rows of the result")
    _file(
        crate,
        "result-canonical.tsv",
        table.canonical(),
        "text/tab-separated-values",
        "The result in canonical form (sorted rows, full N-Triples terms); its SHA-256 is the cited one",
    )
    _file(crate, "query.rq", record.query_text.encode("utf-8"), "application/sparql-query", "The saved query")
    _file(crate, "query-bound.rq", record.sparql.encode("utf-8"), "application/sparql-query", "The SPARQL that ran")
    parameters = json.dumps(record.key.parameters_json(), ensure_ascii=False, indent=2).encode("utf-8")
    _file(crate, "parameters.json", parameters, "application/json", "The parameters' values, as bound")
    release_json = json.dumps(release.as_json(), ensure_ascii=False, indent=2).encode("utf-8")
    _file(crate, "release.json", release_json, "application/json", "The data release: graphs and their digests")
    _file(crate, "citation.bib", texts.bibtex.encode("utf-8"), "application/x-bibtex", "Citation in BibTeX")
    csl = json.dumps([texts.csl], ensure_ascii=False, indent=2).encode("utf-8")
    _file(crate, "citation.json", csl, "application/vnd.citationstyles.csl+json", "Citation in CSL-JSON")
    return b"".join(crate.stream_zip())
