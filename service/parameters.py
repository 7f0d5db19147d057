"""Parameters of saved queries: their types, parsing a value into an RDF term, and binding terms with VALUES.

A value never becomes query text. It is parsed and checked against its type, turned into a pyoxigraph term
(whose N-Triples form escapes every quote and bracket) and bound to the query's variable by a `VALUES` block
inserted at the start of the outermost WHERE group. `x" } ; DROP ALL ; #` given for a string is just a
string literal that matches nothing; given for an IRI or a number it is a 400 naming the parameter.

Municipalities, counties, studies and SKOS concepts are resolved against the graph by code, name, label or
IRI, with the lookup queries in service/lookups/.
"""

from __future__ import annotations

import difflib
import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from service.namespaces import ID, XSD
from service.sparql_lexer import tokens

LOOKUPS = Path(__file__).resolve().parent / "lookups"

Term = ox.NamedNode | ox.Literal
Row = dict[str, Term]


class Candidates:
    """The answers of lookup queries (the values a parameter may name) and the resolvers built from them,
    kept while the data is unchanged: a warm saved query then resolves `kommun=Västerås` without a query.

    The owner makes a new one when the data version changes (service/runtime.py `Services.candidates`).
    """

    def __init__(self, select: Callable[[str], list[Row]]) -> None:
        self._select = select
        self._rows: dict[str, list[Row]] = {}
        self._resolvers: dict[tuple[str, str], Resolver] = {}
        self._lock = threading.Lock()

    def rows(self, sparql: str) -> list[Row]:
        with self._lock:
            found = self._rows.get(sparql)
        if found is None:
            found = self._select(sparql)
            with self._lock:
                self._rows.setdefault(sparql, found)
        return found

    def resolver(self, ptype: ParameterType, sparql: str) -> Resolver:
        key = (ptype.name, sparql)
        with self._lock:
            found = self._resolvers.get(key)
        if found is None:
            found = Resolver(ptype, self.rows(sparql))
            with self._lock:
                self._resolvers.setdefault(key, found)
        return found


"""Runs a SELECT (through the executor, under the service's limits) and gives its rows as terms."""

RESERVED = frozenset({"format", "output", "results", "limit", "offset", "timeout", "version", "query"})
"""Request parameters of the API itself; a saved query's parameter may not take one of these names. (`query` is
there because SPARQLWrapper always sends one; it must be empty.)"""
PARAMETER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")


@dataclass(frozen=True)
class Text:
    """A short text in Swedish and English (a header may give one string for both)."""

    sv: str
    en: str

    def as_json(self) -> dict[str, str]:
        return {"sv": self.sv, "en": self.en}


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter as a query's header declares it."""

    name: str
    type: str
    description: Text = field(default_factory=lambda: Text("", ""))
    required: bool = False
    default: tuple[str, ...] = ()
    multiple: bool = False
    values: tuple[str, ...] = ()  # the allowed values, when the header lists them
    values_query: str | None = None  # a SELECT whose ?value column lists the allowed values
    scheme: str | None = None  # concept parameters: the SKOS scheme's name, e.g. samverkansform
    language: str | None = None  # langstring parameters: the tag of a value given without one

    def as_json(self, values_url: str | None) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "description": self.description.as_json(),
            "required": self.required,
            "default": list(self.default),
            "multiple": self.multiple,
            "values": list(self.values),
            "values_query": self.values_query,
            "values_url": values_url,
            "scheme": self.scheme,
            "language": self.language,
        }


class ParameterError(ValueError):
    """A request's value for a parameter that cannot be used; the message names the parameter."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"Parameter '{name}': {message}")


class BadValue(ValueError):
    """A value that is not of its parameter's type; the message says what is allowed."""


# --- Types ---------------------------------------------------------------------------------------------------


def _literal(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(XSD + datatype))


def _iri(raw: str, spec: ParameterSpec) -> Term:
    try:
        return ox.NamedNode(raw.strip())
    except ValueError:
        raise BadValue(f"'{raw}' is not an absolute IRI, e.g. https://w3id.org/samverkan/id/kommun/1980") from None


def _string(raw: str, spec: ParameterSpec) -> Term:
    return ox.Literal(raw)


def _langstring(raw: str, spec: ParameterSpec) -> Term:
    text, at, tag = raw.rpartition("@")
    if at and LANGUAGE_TAG.fullmatch(tag):
        return ox.Literal(text, language=tag.lower())
    if spec.language:
        return ox.Literal(raw, language=spec.language)
    raise BadValue(f"'{raw}' has no language tag; write the text followed by @ and a language, e.g. samverkan@sv")


def _integer(raw: str, spec: ParameterSpec) -> Term:
    if not re.fullmatch(r"\s*[+-]?\d+\s*", raw):
        raise BadValue(f"'{raw}' is not a whole number, e.g. 12")
    return _literal(str(int(raw)), "integer")


def _decimal(raw: str, spec: ParameterSpec) -> Term:
    text = raw.strip().replace(",", ".")
    if not re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", text):
        raise BadValue(f"'{raw}' is not a decimal number, e.g. 0.25")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise BadValue(f"'{raw}' is not a decimal number, e.g. 0.25") from None
    return _literal(format(number.normalize(), "f"), "decimal")  # canonical, so 1,50 is the allowed 1.5


def _date(raw: str, spec: ParameterSpec) -> Term:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
            raise ValueError
        return _literal(date.fromisoformat(raw.strip()).isoformat(), "date")
    except ValueError:
        raise BadValue(f"'{raw}' is not a date written YYYY-MM-DD, e.g. 2011-03-15") from None


def _year(raw: str, spec: ParameterSpec) -> Term:
    if not re.fullmatch(r"\s*\d{4}\s*", raw):
        raise BadValue(f"'{raw}' is not a year written with four digits, e.g. 2011")
    return _literal(raw.strip(), "gYear")


BOOLEAN_WORDS = {
    "true": True,
    "1": True,
    "yes": True,
    "ja": True,
    "false": False,
    "0": False,
    "no": False,
    "nej": False,
}


def _boolean(raw: str, spec: ParameterSpec) -> Term:
    try:
        return _literal("true" if BOOLEAN_WORDS[raw.strip().lower()] else "false", "boolean")
    except KeyError:
        raise BadValue(f"'{raw}' is not true or false (also accepted: 1/0, yes/no, ja/nej)") from None


@dataclass(frozen=True)
class ParameterType:
    name: str
    about: str  # what a value looks like, for the catalogue and the API document
    schema: Mapping[str, Any]  # its OpenAPI 3 schema
    parse: Callable[[str, ParameterSpec], Term] | None = None  # None: resolved against the graph
    suffixes: tuple[str, ...] = ()  # words a resolved name may end with ("kommun", "län") that can be left out

    @property
    def resolved(self) -> bool:
        return self.parse is None

    def lookup_query(self) -> str:
        return (LOOKUPS / f"{self.name}.rq").read_text(encoding="utf-8")


TYPES: dict[str, ParameterType] = {
    t.name: t
    for t in (
        ParameterType("iri", "an absolute IRI", {"type": "string", "format": "uri"}, _iri),
        ParameterType(
            "municipality",
            "a municipality (kommun): its four-digit kommunkod, its name (with or without 'kommun'/'stad') or IRI",
            {"type": "string", "pattern": r"^(\d{4}|.*\D.*)$", "examples": ["1980", "Västerås"]},
            suffixes=("kommun", "stad", "municipality"),
        ),
        ParameterType(
            "county",
            "a county (län): its two-digit länskod, its name (with or without 'län') or IRI",
            {"type": "string", "pattern": r"^(\d{2}|.*\D.*)$", "examples": ["19", "Västmanlands län"]},
            suffixes=("län", "county"),
        ),
        ParameterType(
            "study",
            "a study: its id (e.g. samverkan-som-strategi), its title or IRI",
            {"type": "string", "examples": ["samverkan-som-strategi"]},
        ),
        ParameterType(
            "concept", "a concept of a SKOS scheme: its Swedish or English label, notation or IRI", {"type": "string"}
        ),
        ParameterType("string", "any text", {"type": "string"}, _string),
        ParameterType(
            "langstring",
            "text with a language tag, e.g. samverkan@sv",
            {"type": "string", "pattern": r"@[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$", "examples": ["samverkan@sv"]},
            _langstring,
        ),
        ParameterType("integer", "a whole number", {"type": "integer"}, _integer),
        ParameterType("decimal", "a decimal number", {"type": "number"}, _decimal),
        ParameterType("date", "a date, YYYY-MM-DD", {"type": "string", "format": "date"}, _date),
        ParameterType(
            "year", "a year, four digits", {"type": "string", "pattern": r"^\d{4}$", "examples": ["2011"]}, _year
        ),
        ParameterType("boolean", "true or false", {"type": "boolean"}, _boolean),
    )
}


def parse_static(spec: ParameterSpec, raw: str) -> Term:
    """A value of a type that needs no lookup (everything but municipality, county, study and concept)."""
    parse = TYPES[spec.type].parse
    assert parse is not None
    return parse(raw, spec)


# --- Resolving names against the graph ---------------------------------------------------------------------


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _short_forms(key: str, suffixes: Sequence[str]) -> Iterator[str]:
    """A key without a trailing 'kommun'/'stad'/'län', also without its genitive s: Västmanlands län → västmanland."""
    for suffix in suffixes:
        if key.endswith(" " + suffix):
            stem = key[: -len(suffix) - 1].strip()
            yield stem
            if stem.endswith("s"):
                yield stem[:-1]


@dataclass(frozen=True)
class Candidate:
    value: ox.NamedNode
    label: str


class Resolver:
    """Finds the one thing a researcher means by a code, name, label or IRI, among a lookup query's rows."""

    def __init__(self, ptype: ParameterType, rows: list[Row]) -> None:
        self.ptype = ptype
        self.candidates: dict[str, Candidate] = {}
        self.keys: dict[str, set[str]] = {}
        for row in rows:
            value, label, key = row.get("value"), row.get("label"), row.get("key")
            if not isinstance(value, ox.NamedNode):
                continue
            if value.value not in self.candidates or (label is not None and not self.candidates[value.value].label):
                self.candidates[value.value] = Candidate(value, label.value if label is not None else "")
            for text in (key, label):
                if text is not None:
                    normal = _normal(text.value)
                    for form in (normal, *_short_forms(normal, ptype.suffixes)):
                        self.keys.setdefault(form, set()).add(value.value)

    def resolve(self, raw: str) -> ox.NamedNode:
        text = raw.strip()
        if text in self.candidates:
            return self.candidates[text].value
        normal = _normal(text)
        for form in (normal, *_short_forms(normal, self.ptype.suffixes)):
            found = self.keys.get(form, set())
            if len(found) == 1:
                return self.candidates[next(iter(found))].value
            if len(found) > 1:
                names = ", ".join(sorted(f"{self.candidates[v].label} <{v}>" for v in found))
                raise BadValue(f"'{raw}' could mean any of: {names}; give a code or IRI")
        close = difflib.get_close_matches(normal, list(self.keys), n=5, cutoff=0.6)
        labels = sorted({self.candidates[v].label or v for form in close for v in self.keys[form]})
        hint = f"; closest: {', '.join(labels)}" if labels else ""
        raise BadValue(f"'{raw}' is not {self.ptype.about}{hint}")


def concept_scheme_iri(scheme: str) -> str:
    return f"{ID}scheme/{scheme}"


# --- Binding -----------------------------------------------------------------------------------------------

QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")


def variables(sparql: str) -> set[str]:
    """The names of the variables the query mentions (outside strings, IRIs and comments)."""
    return {token.text[1:] for token in tokens(sparql) if token.kind == "var"}


class NoWhereGroup(ValueError):
    """The query has no WHERE group that VALUES could be put into."""


@functools.lru_cache(maxsize=256)
def where_group_start(sparql: str) -> int:
    """The offset just after the `{` that opens the query's outermost WHERE group.

    Kept per text (a saved query is bound on every request, and tokenising it was half the time of a warm one).

    Found by tokens (strings, IRIs and comments are whole tokens): the first `{` at nesting depth 0 (for
    CONSTRUCT the second, after the template), not inside parentheses (`SELECT (EXISTS { … } AS ?x)`).
    """
    form: str | None = None
    braces = parens = groups = 0
    previous = ""
    found = tokens(sparql)
    for index, token in enumerate(found):
        text = token.text
        if form is None and braces == 0 and token.is_word(*QUERY_FORMS):
            form = text.upper()
        if text == "(":
            parens += 1
        elif text == ")":
            parens -= 1
        elif text == "}":
            braces -= 1
        elif text == "{":
            if braces == 0 and parens == 0:
                groups += 1
                if form == "CONSTRUCT" and groups == 1 and previous == "WHERE":
                    raise NoWhereGroup(
                        "the short form CONSTRUCT WHERE { … } cannot take parameters; write CONSTRUCT { … } WHERE { … }"
                    )
                if form is not None and (form != "CONSTRUCT" or groups == 2):
                    if index + 1 < len(found) and found[index + 1].is_word("SELECT"):
                        raise NoWhereGroup("the WHERE group is a sub-query alone; wrap it: WHERE { { SELECT … } }")
                    return token.start + 1
            braces += 1
        previous = text.upper()
    raise NoWhereGroup("the query has no WHERE { … } group to bind parameters in")


def bind(sparql: str, bindings: Mapping[str, Sequence[Term]]) -> str:
    """The query with one VALUES block per bound parameter at the start of its outermost WHERE group."""
    if not bindings:
        return sparql
    at = where_group_start(sparql)
    blocks = "".join(f"\n  VALUES ?{name} {{ {' '.join(str(t) for t in terms)} }}" for name, terms in bindings.items())
    return f"{sparql[:at]}{blocks}\n{sparql[at:]}"


def term_from_json(binding: Mapping[str, str]) -> Term | None:
    """A term from a SPARQL 1.1 JSON results binding (blank nodes and triple terms give None)."""
    kind, value = binding.get("type"), binding.get("value", "")
    if kind == "uri":
        return ox.NamedNode(value)
    if kind in ("literal", "typed-literal"):
        if "xml:lang" in binding:
            return ox.Literal(value, language=binding["xml:lang"])
        datatype = binding.get("datatype")
        return ox.Literal(value, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(value)
    return None


def term_rows(bindings: Iterable[Mapping[str, Mapping[str, str]]]) -> list[Row]:
    """SPARQL JSON result rows as RDF terms (what lookups give parameter resolution)."""
    rows: list[Row] = []
    for binding in bindings:
        terms = {name: term_from_json(value) for name, value in binding.items()}
        rows.append({name: term for name, term in terms.items() if term is not None})
    return rows


def arguments(
    specs: Sequence[ParameterSpec], given: Mapping[str, Sequence[str]], lookup: Candidates
) -> dict[str, list[Term]]:
    """The terms to bind for each parameter, from the request's values (or the defaults).

    Raises ParameterError naming the parameter for a missing required value, a value of the wrong type, an
    unknown name, a value outside the allowed ones, or several values where one is expected.
    """
    known = {spec.name for spec in specs}
    for name in given:
        if name not in known and name not in RESERVED:
            takes = ", ".join(sorted(known)) or "no parameters"
            raise ParameterError(name, f"this query has no such parameter; it takes: {takes}")
    bindings: dict[str, list[Term]] = {}
    for spec in specs:
        raws = [raw for raw in given.get(spec.name, ()) if raw.strip()]  # an empty form field means: not given
        if not raws:
            if spec.required:
                raise ParameterError(spec.name, f"is required: give {TYPES[spec.type].about}")
            raws = list(spec.default)
        if not raws:
            continue
        if len(raws) > 1 and not spec.multiple:
            raise ParameterError(spec.name, f"takes one value; {len(raws)} were given")
        try:
            bindings[spec.name] = values_of(spec, raws, lookup)
        except BadValue as error:
            raise ParameterError(spec.name, str(error)) from None
    return bindings


def values_of(spec: ParameterSpec, raws: Sequence[str], lookup: Candidates) -> list[Term]:
    ptype = TYPES[spec.type]
    if ptype.resolved:
        resolver = lookup.resolver(ptype, candidates_query(spec))
        terms: list[Term] = [resolver.resolve(raw) for raw in raws]
    else:
        terms = [parse_static(spec, raw) for raw in raws]
    if spec.values:
        allowed = {parse_static(spec, value) for value in spec.values}
        for raw, term in zip(raws, terms, strict=True):
            if term not in allowed:
                raise BadValue(f"'{raw}' is not one of the allowed values: {', '.join(spec.values)}")
    if spec.values_query:
        listed = {row["value"] for row in lookup.rows(spec.values_query) if "value" in row}
        for raw, term in zip(raws, terms, strict=True):
            if term not in listed:
                shown = sorted(t.value for t in listed)
                more = ", …" if len(shown) > 20 else ""
                raise BadValue(f"'{raw}' is not one of the allowed values: {', '.join(shown[:20])}{more}")
    return list(dict.fromkeys(terms))


def candidates_query(spec: ParameterSpec) -> str:
    """The lookup query of a resolved type (for a concept: narrowed to its scheme)."""
    text = TYPES[spec.type].lookup_query()
    if spec.type == "concept":
        assert spec.scheme is not None
        return bind(text, {"scheme": [ox.NamedNode(concept_scheme_iri(spec.scheme))]})
    return text


def allowed_values(spec: ParameterSpec, lookup: Candidates) -> list[dict[str, str]] | None:
    """What a form's drop-down offers: value and label of each allowed value; None when any value of the type goes."""
    if spec.values:
        return [{"value": value, "label": value} for value in spec.values]
    rows: list[Row] = []
    if spec.values_query:
        rows = lookup.rows(spec.values_query)
    elif TYPES[spec.type].resolved:
        rows = lookup.rows(candidates_query(spec))
    else:
        return None
    found: dict[str, str] = {}
    for row in rows:
        value, label = row.get("value"), row.get("label")
        if value is not None and (value.value not in found or (label is not None and not found[value.value])):
            found[value.value] = label.value if label is not None else ""
    return sorted(
        ({"value": v, "label": label or v} for v, label in found.items()), key=lambda d: d["label"].casefold()
    )
