"""The saved-query catalogue: `.rq` files with a `#+` YAML header, read, checked and kept in step with their folders.

A query file starts with lines `#+ key: value` that together form YAML (as grlc's decorators do):

    #+ name: partners-by-municipality
    #+ title: {sv: "Partner per kommun", en: "Partners by municipality"}
    #+ description: With which types of actors each municipality collaborates.
    #+ tags: [forskningsfråga-1, aktörer]
    #+ view: {type: bar, x: partnerType, y: n}
    #+ parameters:
    #+   kommun: {type: municipality, required: true}
    PREFIX samv: <https://w3id.org/samverkan/ontology#>
    SELECT …

A file with a bad header or bad SPARQL becomes a Problem (file, line, message) and the other queries are served.
SPARQL is checked with rdflib's parser only (never run in rdflib's engine; queries run in the executor).
Curated queries live in queries/; researchers' own in a folder of their own as NAME.vN.rq, one file per version.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pyparsing import ParseException
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery

from service.parameters import (
    LANGUAGE_TAG,
    PARAMETER_NAME,
    RESERVED,
    TYPES,
    BadValue,
    NoWhereGroup,
    ParameterSpec,
    Text,
    parse_static,
    variables,
    where_group_start,
)
from service.sparql_lexer import tokens

log = logging.getLogger(__name__)

NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
USER_FILE = re.compile(r"(?P<name>[a-z0-9]+(?:-[a-z0-9]+)*)\.v(?P<version>[1-9][0-9]*)\.rq")
HEADER_LINE = re.compile(r"#\+ ?(.*)")
HEADER_KEYS = ("name", "title", "description", "tags", "view", "parameters")
PARAMETER_KEYS = (
    "type",
    "description",
    "required",
    "default",
    "multiple",
    "values",
    "values_query",
    "scheme",
    "language",
)
VIEWS = ("table", "bar", "grouped-bar", "network", "map")
VIEW_COLUMNS = ("x", "y", "series", "source", "target", "label", "area", "value")  # keys naming result columns
FORMS = {"SelectQuery": "select", "ConstructQuery": "construct", "AskQuery": "ask", "DescribeQuery": "describe"}


@dataclass(frozen=True)
class Problem:
    """Why a query file is not served: where (file, line) and what is wrong."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}{f', line {self.line}' if self.line else ''}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


class QueryFileError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class SavedQuery:
    name: str
    title: Text
    description: Text
    tags: tuple[str, ...]
    parameters: tuple[ParameterSpec, ...]
    view: Mapping[str, Any]
    text: str  # the whole file, header included (header lines are SPARQL comments)
    form: str  # select, construct, ask or describe
    file: str
    origin: str  # "curated" or "user"
    version: int

    @property
    def sparql(self) -> str:
        """The query without its `#+` header."""
        lines = self.text.splitlines(keepends=True)
        return "".join(lines[len(header_lines(self.text)) :]).lstrip("\n")

    def summary(self) -> dict[str, Any]:
        """The metadata every listing of the query shows (the API's catalogue, the web gallery)."""
        return {
            "name": self.name,
            "title": self.title.as_json(),
            "description": self.description.as_json(),
            "tags": list(self.tags),
            "view": dict(self.view),
        }

    def parameter(self, name: str) -> ParameterSpec | None:
        return next((spec for spec in self.parameters if spec.name == name), None)


def header_lines(text: str) -> list[str]:
    """The YAML of the leading `#+` lines, one entry per line."""
    lines = []
    for line in text.splitlines():
        match = HEADER_LINE.fullmatch(line.rstrip())
        if not match:
            break
        lines.append(match.group(1))
    return lines


# --- Reading one file ---------------------------------------------------------------------------------------


class _Checker:
    """Collects the problems of one file; `line_of` finds where a header key stands."""

    def __init__(self, file: str, header: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        try:
            self.root: yaml.Node | None = yaml.compose(header, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self.root = None

    def add(self, message: str, *path: str | int, line: int | None = None) -> None:
        self.problems.append(Problem(self.file, line if line is not None else self.line_of(*path), message))

    def line_of(self, *path: str | int) -> int | None:
        node = self.root
        line = 1 if node is not None else None
        for step in path:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == step), None)
                if match is None:
                    break
                line, node = match[0].start_mark.line + 1, match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
                line = node.start_mark.line + 1
            else:
                break
        return line


def _as_text(value: Any, check: _Checker, *path: str) -> Text:
    if isinstance(value, str):
        return Text(value.strip(), value.strip())
    if isinstance(value, Mapping) and set(value) <= {"sv", "en"} and value:
        texts = {k: str(v).strip() for k, v in value.items()}
        return Text(texts.get("sv") or texts["en"], texts.get("en") or texts["sv"])
    check.add("must be a text, or {sv: …, en: …} with a Swedish and an English text", *path)
    return Text("", "")


def _as_strings(value: Any) -> tuple[str, ...]:
    """Header values as the strings a request would send (YAML reads 2011 as a number, true as a boolean)."""
    values = value if isinstance(value, list) else [value]
    return tuple(
        "true" if v is True else "false" if v is False else v.isoformat() if isinstance(v, date) else str(v)
        for v in values
    )


def _parameter(name: Any, raw: Any, check: _Checker, sparql_variables: set[str]) -> ParameterSpec | None:
    where = ("parameters", str(name))
    if not isinstance(name, str) or not PARAMETER_NAME.fullmatch(name):
        check.add(f"parameter name '{name}' must start with a letter and hold only letters, digits and _", *where)
        return None
    if name in RESERVED:
        check.add(f"'{name}' is a parameter of the API itself; choose another name", *where)
        return None
    if not isinstance(raw, Mapping):
        check.add(f"parameter '{name}' must be a mapping such as {{type: municipality, required: true}}", *where)
        return None
    unknown = sorted(set(raw) - set(PARAMETER_KEYS))
    if unknown:
        check.add(
            f"unknown key(s) {', '.join(map(str, unknown))}; a parameter has: {', '.join(PARAMETER_KEYS)}", *where
        )
    ptype = raw.get("type")
    if ptype not in TYPES:
        check.add(f"parameter '{name}' has type '{ptype}'; the types are: {', '.join(TYPES)}", *where, "type")
        return None
    if name not in sparql_variables:
        check.add(f"parameter '{name}' is not used in the query: it binds the variable ?{name}", *where)
    for key in ("required", "multiple"):
        if key in raw and not isinstance(raw[key], bool):
            check.add(f"'{key}' must be true or false", *where, key)
    scheme = raw.get("scheme")
    if (ptype == "concept") != (scheme is not None):
        check.add("a concept parameter names its SKOS scheme (scheme: samverkansform); other types have none", *where)
    elif scheme is not None and not (isinstance(scheme, str) and NAME.fullmatch(scheme)):
        check.add(f"scheme '{scheme}' must be a scheme's name, e.g. samverkansform or styrmedel", *where, "scheme")
    language = raw.get("language")
    if language is not None and (ptype != "langstring" or not LANGUAGE_TAG.fullmatch(str(language))):
        check.add("'language' is the tag (e.g. sv) a langstring value without one gets", *where, "language")
    values_query = raw.get("values_query")
    if values_query is not None:
        _check_values_query(values_query, check, *where, "values_query")
    default = _as_strings(raw["default"]) if raw.get("default") is not None else ()
    values = _as_strings(raw["values"]) if raw.get("values") is not None else ()
    if TYPES[ptype].resolved and values:
        check.add(f"a {ptype} parameter cannot list 'values'; restrict it with a 'values_query'", *where, "values")
    if raw.get("required") and default:
        check.add("a parameter is either required or has a default, not both", *where)
    if isinstance(raw.get("default"), int) and ptype in ("municipality", "county"):
        check.add('write codes in quotes (default: "0484"): YAML reads 0484 as a number', *where, "default")
    if len(default) > 1 and not raw.get("multiple"):
        check.add("several defaults need 'multiple: true'", *where, "default")
    spec = ParameterSpec(
        name=name,
        type=ptype,
        description=_as_text(raw.get("description", ""), check, *where, "description"),
        required=bool(raw.get("required", False)),
        default=default,
        multiple=bool(raw.get("multiple", False)),
        values=values,
        values_query=values_query,
        scheme=scheme,
        language=str(language).lower() if language else None,
    )
    if not TYPES[ptype].resolved:
        for key, given in (("values", values), ("default", default)):
            for value in given:
                try:
                    parse_static(spec, value)
                except BadValue as error:
                    check.add(f"{key}: {error}", *where, key)
        if values and default and not set(default) <= set(values):
            check.add("the default must be one of the allowed values", *where, "default")
    return spec


def _check_values_query(text: Any, check: _Checker, *path: str) -> None:
    if not isinstance(text, str):
        check.add("'values_query' must be a SPARQL SELECT (as a YAML block: values_query: |)", *path)
        return
    try:
        parsed = parseQuery(text)
        translateQuery(parsed)
    except Exception as error:  # rdflib raises ParseException and plain Exception
        check.add(f"'values_query' is not valid SPARQL: {error}", *path)
        return
    if parsed[1].name != "SelectQuery" or "value" not in variables(text):
        check.add("'values_query' must be a SELECT with a ?value column (and optionally ?label)", *path)


def _check_sparql(text: str, check: _Checker) -> str | None:
    """The query form, or None (with a problem) when rdflib's parser refuses the text."""
    try:
        parsed = parseQuery(text)
    except ParseException as error:
        context = error.line.strip()
        check.add(
            f"invalid SPARQL at column {error.col}, the parser cannot read on from here: {context}", line=error.lineno
        )
        return None
    try:
        translateQuery(parsed)
    except Exception as error:  # rdflib reports an unknown prefix as a plain Exception
        message = str(error)
        prefix = re.search(r"Unknown namespace prefix : (\S*)", message)
        if prefix:
            check.add(
                f"unknown prefix '{prefix.group(1)}:'; declare it with PREFIX {prefix.group(1)}: <…>",
                line=_line_of_word(text, prefix.group(1) + ":"),
            )
        else:
            check.add(f"invalid SPARQL: {message}", line=None)
        return None
    return FORMS[parsed[1].name]


def _line_of_word(text: str, prefix: str) -> int | None:
    """The line where a prefixed name with this prefix is first used."""
    at = next((t.start for t in tokens(text) if t.kind == "pname" and t.text.startswith(prefix)), None)
    return text.count("\n", 0, at) + 1 if at is not None else None


def read_query(text: str, file: str, origin: str, version: int, schemes: set[str] | None = None) -> SavedQuery:
    """One saved query from its file's text; raises QueryFileError listing every problem with its line."""
    lines = header_lines(text)
    check = _Checker(file, "\n".join(lines))
    if not lines:
        raise QueryFileError([Problem(file, 1, "no header: the file must start with '#+ ' lines (see the docs)")])
    try:
        header = yaml.safe_load("\n".join(lines))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = min(mark.line + 1, len(lines)) if mark is not None else None
        message = str(getattr(error, "problem", None) or error)
        raise QueryFileError([Problem(file, line, f"the header is not valid YAML: {message}")]) from None
    if not isinstance(header, Mapping):
        raise QueryFileError([Problem(file, 1, "the header must be YAML 'key: value' lines")])
    unknown = sorted(set(map(str, header)) - set(HEADER_KEYS))
    for key in unknown:
        check.add(f"unknown header key '{key}'; the keys are: {', '.join(HEADER_KEYS)}", key)

    stem = USER_FILE.fullmatch(Path(file).name)
    name = header.get("name", stem.group("name") if stem else Path(file).stem)
    expected = stem.group("name") if stem else Path(file).stem
    if not isinstance(name, str) or not NAME.fullmatch(name):
        check.add(f"name '{name}' must be lower-case letters, digits and dashes, e.g. partners-by-municipality", "name")
    elif name != expected:
        check.add(f"name '{name}' differs from the file name; call the file {name}.rq", "name")
    for key in ("title", "description"):
        if key not in header:
            check.add(f"the header has no '{key}' ({{sv: …, en: …}})", line=1)
    title = _as_text(header.get("title", ""), check, "title")
    description = _as_text(header.get("description", ""), check, "description")
    tags = header.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str | int) for t in tags):
        check.add("tags must be a list, e.g. [forskningsfråga-1, aktörer]", "tags")
        tags = []

    form = _check_sparql(text, check)
    sparql_variables = variables(text)
    raw_parameters = header.get("parameters") or {}
    specs: list[ParameterSpec] = []
    if not isinstance(raw_parameters, Mapping):
        check.add("parameters must be a mapping of names to {type: …}", "parameters")
    else:
        for pname, raw in raw_parameters.items():
            spec = _parameter(pname, raw, check, sparql_variables)
            if spec is not None:
                specs.append(spec)
    if schemes is not None:
        for spec in specs:
            if spec.scheme and spec.scheme not in schemes:
                check.add(
                    f"there is no concept scheme '{spec.scheme}'; the schemes are: {', '.join(sorted(schemes))}",
                    "parameters",
                    spec.name,
                    "scheme",
                )
    if specs and form is not None:
        try:
            where_group_start(text)
        except NoWhereGroup as error:
            check.add(f"the query cannot take parameters: {error}", "parameters")

    view = header.get("view", {"type": "table"})
    if isinstance(view, str):
        view = {"type": view}
    if not isinstance(view, Mapping) or view.get("type") not in VIEWS:
        check.add(f"view must be {{type: …}} with a type among: {', '.join(VIEWS)}", "view")
        view = {"type": "table"}
    for key in VIEW_COLUMNS:
        column = view.get(key)
        for col in column if isinstance(column, list) else [column]:
            if col is not None and str(col) not in sparql_variables:
                check.add(f"view {key}: there is no column ?{col} in the query", "view")

    if check.problems or form is None:
        raise QueryFileError(check.problems)
    return SavedQuery(
        name=name,
        title=title,
        description=description,
        tags=tuple(str(t) for t in tags),
        parameters=tuple(specs),
        view=dict(view),
        text=text,
        form=form,
        file=file,
        origin=origin,
        version=version,
    )


def header_text(fields: Mapping[str, Any]) -> str:
    """`#+` header lines for the metadata fields of a JSON body (the same keys as a file's header)."""
    kept = {key: fields[key] for key in HEADER_KEYS if fields.get(key) is not None}
    dumped = yaml.safe_dump(kept, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000)
    return "".join(f"#+ {line}\n" for line in dumped.splitlines())


# --- The catalogue ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """What is served at one moment: each name's versions (oldest first), and the files that could not be read."""

    queries: Mapping[str, tuple[SavedQuery, ...]] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    def get(self, name: str, version: int | None = None) -> SavedQuery | None:
        versions = self.queries.get(name, ())
        if not versions:
            return None
        if version is None:
            return versions[-1]
        return next((q for q in versions if q.version == version), None)

    def latest(self) -> list[SavedQuery]:
        return [versions[-1] for _, versions in sorted(self.queries.items())]


Fingerprint = tuple[tuple[str, int, int], ...]


def _fingerprint(*folders: Path) -> Fingerprint:
    """Path, time and size of every .rq file in the folders (in order, each sorted by name): one listing and one
    stat a file (os.scandir), as every request asks for it."""
    prints: list[tuple[str, int, int]] = []
    for folder in folders:
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:  # the folder does not exist (yet)
            continue
        for entry in entries:
            try:
                if entry.name.endswith(".rq") and entry.is_file():
                    stat = entry.stat()
                    prints.append((entry.path, stat.st_mtime_ns, stat.st_size))
            except OSError:  # removed meanwhile
                continue
    return tuple(prints)


class QueryLibrary:
    """The curated folder and the researchers' folder, re-read when a file in them appears, changes or goes.

    Each request asks for `current()`, which costs a directory listing; files are parsed again only when their
    size or time changed, so a saved query is served at once by every process of the service.
    """

    def __init__(self, curated: Path, user: Path, schemes: Callable[[], set[str] | None] = lambda: None) -> None:
        self.curated = curated
        self.user = user
        self.schemes = schemes
        self._lock = threading.Lock()
        self._print: Fingerprint | None = None
        self._parsed: dict[tuple[str, int, int], SavedQuery | QueryFileError] = {}
        self._catalogue = Catalogue()

    def current(self) -> Catalogue:
        fingerprint = _fingerprint(self.curated, self.user)
        if fingerprint != self._print:
            with self._lock:
                if fingerprint != self._print:
                    self._catalogue = self._read(fingerprint)
                    self._print = fingerprint
        return self._catalogue

    def _read(self, fingerprint: Fingerprint) -> Catalogue:
        schemes = self.schemes()
        parsed: dict[tuple[str, int, int], SavedQuery | QueryFileError] = {}
        queries: dict[str, list[SavedQuery]] = {}
        problems: list[Problem] = []
        for key in fingerprint:
            path = Path(key[0])
            result = self._parsed.get(key) or self._read_file(path, schemes)
            parsed[key] = result
            if isinstance(result, QueryFileError):
                if key not in self._parsed:
                    for problem in result.problems:
                        log.warning("saved query not served: %s", problem)
                problems += result.problems
                continue
            versions = queries.setdefault(result.name, [])
            if result.origin == "user" and versions and versions[0].origin == "curated":
                problem = Problem(result.file, None, f"a user query may not take the curated name '{result.name}'")
                log.warning("saved query not served: %s", problem)
                problems.append(problem)
                continue
            versions.append(result)
        self._parsed = parsed
        ordered = {name: tuple(sorted(vs, key=lambda q: q.version)) for name, vs in queries.items()}
        return Catalogue(ordered, tuple(problems))

    def _read_file(self, path: Path, schemes: set[str] | None) -> SavedQuery | QueryFileError:
        origin = "curated" if path.parent == self.curated else "user"
        shown = f"{path.parent.name}/{path.name}"
        version = 1
        if origin == "user":
            stem = USER_FILE.fullmatch(path.name)
            if not stem:
                return QueryFileError([Problem(shown, None, "a user query file is named NAME.vN.rq, e.g. x.v1.rq")])
            version = int(stem.group("version"))
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            return QueryFileError([Problem(shown, None, f"cannot be read as UTF-8 text ({error})")])
        try:
            return read_query(text, shown, origin, version, schemes)
        except QueryFileError as error:
            return error

    def save(self, text: str) -> tuple[SavedQuery, bool]:
        """Store a researcher's query as the next version of its name; (query, False) when the text is unchanged.

        Raises QueryFileError (the problems, as for a file) and PermissionError for a curated name.
        """
        lines = header_lines(text)
        try:
            header = yaml.safe_load("\n".join(lines)) if lines else None
        except yaml.YAMLError:
            read_query(text, "(request)", "user", 1)  # raises the header's problem, with its line
            raise
        name = header.get("name") if isinstance(header, Mapping) else None
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise QueryFileError([Problem("(request)", 1, "a saved query needs a name: lower-case letters, digits, -")])
        catalogue = self.current()
        existing = catalogue.get(name)
        if existing is not None and existing.origin == "curated":
            raise PermissionError(f"'{name}' is a curated query of the library; save yours under another name")
        version = existing.version + 1 if existing is not None else 1
        read_query(text, f"{self.user.name}/{name}.v{version}.rq", "user", version, self.schemes())
        if existing is not None and existing.text == text:
            return existing, False
        self.user.mkdir(parents=True, exist_ok=True)
        while True:  # another request may take the same version number first
            path = self.user / f"{name}.v{version}.rq"
            try:
                with path.open("x", encoding="utf-8") as handle:
                    handle.write(text)
                break
            except FileExistsError:
                version += 1
        query = self.current().get(name, version)
        assert query is not None, f"{path} was written but not read back"
        return query, True
