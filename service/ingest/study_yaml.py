"""study.yaml: what a study is (title, period, method, researchers, licence, source, focus groups, cases),
read into the study's graph. Every problem names the key it is about; unknown keys are problems too, so a
typo never silently drops information. The keys are documented in docs/study-format.md."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDFS

from service.ingest import DataFileError
from service.ingest.period import Period
from service.ingest.resolve import Resolver, Unresolved, normalise, quoted, slug
from service.ingest.studygraph import SAMV, STUDY_FILE, StudyGraph
from service.ingest.validation import Origin

STUDY_KEYS = (
    "id",
    "title",
    "period",
    "method",
    "researchers",
    "institution",
    "licence",
    "source",
    "description",
    "fictional",
    "language",
    "focus_groups",
    "cases",
)
REQUIRED_KEYS = ("id", "title", "period", "method", "researchers", "licence", "source")
FOCUS_GROUP_KEYS = ("id", "date", "period", "participant_roles", "municipalities", "description")
CASE_KEYS = ("id", "title", "description")
URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Activity:
    """A focus group or case from study.yaml: what an observation's `source` names."""

    key: str
    iri: URIRef


class _TextDates(yaml.SafeLoader):
    """YAML without its date conversion: dates stay text, checked (and reported) like those of the sheets."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(path: Path) -> object:
    try:
        return yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_TextDates)
    except UnicodeDecodeError as error:
        raise DataFileError(path, "is not UTF-8 text; save it as UTF-8") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise DataFileError(path, f"is not valid YAML{where}: {problem}") from error
    except OSError as error:
        raise DataFileError(path, f"cannot be read ({error.strerror})") from error


def study_id(folder: Path) -> str:
    """The id a study folder's study.yaml gives (its graph is graph/study/{id})."""
    path = folder / STUDY_FILE
    data = _read_yaml(path)
    value = data.get("id") if isinstance(data, dict) else None
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value):
        raise DataFileError(
            path, f"key 'id': {value!r} is not a study id; write lower-case letters, digits and hyphens (e.g. my-study)"
        )
    return value


def read_metadata(path: Path, study: StudyGraph, resolver: Resolver) -> dict[str, Activity]:
    """Add the study, its focus groups and cases to `study`; returns the focus groups and cases by their id."""
    return _Metadata(path, study, resolver).read()


class _Metadata:
    def __init__(self, path: Path, study: StudyGraph, resolver: Resolver) -> None:
        self.path = path
        self.study = study
        self.resolver = resolver
        self.activities: dict[str, Activity] = {}

    def problem(self, where: str, message: str) -> None:
        self.study.problems.append(DataFileError(self.path, f"{where}: {message}"))

    def read(self) -> dict[str, Activity]:
        s, iri = self.study, self.study.subject
        data = self.mapping(_read_yaml(self.path), "", STUDY_KEYS)
        for key in REQUIRED_KEYS:
            if data.get(key) in (None, "", [], {}):
                self.problem(f"key '{key}'", "is missing; see docs/study-format.md")
        language = str(data.get("language") or "sv")
        if not re.fullmatch(r"[a-z]{2,3}", language):
            self.problem("key 'language'", f"'{language}' is not a language code such as sv or en")
            language = "sv"
        s.language = language
        s.individual(iri, SAMV.Study, Origin(self.path, f"study '{s.study_id}'"))
        s.add((iri, DCTERMS.identifier, Literal(s.study_id)))

        titles = self.text(data["title"], "key 'title'") if data.get("title") else []
        s.add(*((iri, prop, title) for title in titles for prop in (DCTERMS.title, RDFS.label)))
        s.title = str(titles[0]) if titles else s.study_id
        if data.get("description"):
            s.add(*((iri, DCTERMS.description, text) for text in self.text(data["description"], "key 'description'")))
        if data.get("period") not in (None, ""):
            try:
                s.add(*Period.of_yaml(data["period"]).triples(iri))
            except ValueError as error:
                self.problem("key 'period'", str(error))
        if data.get("method"):
            s.add((iri, SAMV.method, Literal(str(data["method"]).strip(), lang=language)))
        if data.get("researchers"):
            s.add(
                *(
                    (iri, DCTERMS.creator, Literal(name))
                    for name in self.names(data["researchers"], "key 'researchers'")
                )
            )
        if data.get("institution"):
            s.add((iri, SAMV.institution, Literal(str(data["institution"]).strip())))
        if data.get("licence"):
            self.licence(data["licence"])
        if data.get("source"):
            self.source(data["source"])
        fictional = data.get("fictional", False)
        if not isinstance(fictional, bool):
            self.problem("key 'fictional'", f"must be true or false, not {fictional!r}")
            fictional = False
        s.add((iri, SAMV.fictional, Literal(fictional)))

        for entry in self.entries(data.get("focus_groups"), "focus_groups", FOCUS_GROUP_KEYS):
            self.focus_group(entry)
        for entry in self.entries(data.get("cases"), "cases", CASE_KEYS):
            self.case(entry)
        if not data.get("focus_groups") and not data.get("cases"):
            self.problem("keys 'focus_groups' and 'cases'", "declare at least one focus group or case")
        return self.activities

    # Values ----------------------------------------------------------------------------------------------------

    def mapping(self, value: object, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problem(where or "the file", f"must be a mapping of {', '.join(keys)}")
            return {}
        for key in value:
            if str(key) not in keys:
                close = difflib.get_close_matches(str(key), keys, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                at = f"{where}, key '{key}'" if where else f"key '{key}'"
                self.problem(at, f"unknown key; {hint}allowed: {', '.join(keys)}")
        return {str(k): v for k, v in value.items()}

    def text(self, value: object, where: str) -> list[Literal]:
        """A text: {sv: …, en: …} (either or both) or a plain string (in the study's language)."""
        if isinstance(value, dict):
            unknown = [str(k) for k in value if str(k) not in ("sv", "en")]
            if unknown:
                self.problem(where, f"languages are sv and en, not {quoted(unknown)}")
            texts = [Literal(str(v).strip(), lang=str(k)) for k, v in value.items() if str(k) in ("sv", "en") and v]
        elif isinstance(value, str | int | float) and str(value).strip():
            texts = [Literal(str(value).strip(), lang=self.study.language)]
        else:
            texts = []
        if not texts:
            self.problem(where, "needs a text: {sv: …, en: …} or a plain string")
        return texts

    def names(self, value: object, where: str) -> list[str]:
        """A list of names (or roles); one name alone is a list of one."""
        if isinstance(value, str) and value.strip():
            return [value.strip()]
        if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
            return [v.strip() for v in value]
        self.problem(where, "needs a list of names, e.g. [Anna Andersson, Bertil Berg]")
        return []

    def licence(self, value: object) -> None:
        """A URL, or an SPDX licence id (https://spdx.org/licenses/{id})."""
        text = str(value).strip()
        if URL.fullmatch(text):
            self.study.add((self.study.subject, DCTERMS.license, URIRef(text)))
        elif re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.+-]*", text):
            self.study.add((self.study.subject, DCTERMS.license, URIRef(f"https://spdx.org/licenses/{text}")))
        else:
            self.problem("key 'licence'", f"'{text}' is neither a URL nor an SPDX licence id (e.g. CC-BY-4.0)")

    def source(self, value: object) -> None:
        """A citation, a URL, or both: {citation: …, url: …}."""
        parts = self.mapping(value, "key 'source'", ("citation", "url")) if isinstance(value, dict) else {"": value}
        for key, part in parts.items():
            text = str(part or "").strip()
            if key == "url" and not URL.fullmatch(text):
                self.problem("key 'source'", f"url '{text}' is not a URL (https://…)")
            elif text:
                self.study.add(
                    (self.study.subject, DCTERMS.source, URIRef(text) if URL.fullmatch(text) else Literal(text))
                )

    # Focus groups and cases --------------------------------------------------------------------------------

    def entries(self, value: object, key: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(f"key '{key}'", "must be a list (each entry starting with '- id: …')")
            return []
        return [self.mapping(entry, f"{key} entry {n}", keys) for n, entry in enumerate(value, start=1)]

    def activity(self, entry: dict[str, Any], kind: str, path: str, cls: URIRef) -> Activity | None:
        key = str(entry.get("id") or "").strip()
        if not slug(key):
            self.problem(f"a {kind} without an id", "every focus group and case needs an id (e.g. FG1)")
            return None
        if normalise(key) in self.activities:
            self.problem(f"{kind} '{key}'", "the id is used twice; focus groups and cases need different ids")
            return None
        activity = Activity(key, self.study.iri(path, slug(key)))
        self.activities[normalise(key)] = activity
        self.study.individual(activity.iri, cls, Origin(self.path, f"{kind} '{key}'"))
        self.study.add((activity.iri, DCTERMS.identifier, Literal(key)))
        if entry.get("description"):
            for text in self.text(entry["description"], f"{kind} '{key}', key 'description'"):
                self.study.add((activity.iri, DCTERMS.description, text))
        return activity

    def focus_group(self, entry: dict[str, Any]) -> None:
        activity = self.activity(entry, "focus group", "focusgroup", SAMV.FocusGroup)
        if activity is None:
            return
        fg, where = activity.iri, f"focus group '{activity.key}'"
        self.study.add(
            (fg, SAMV.partOf, self.study.subject),
            (fg, RDFS.label, Literal(f"Fokusgrupp {activity.key}", lang="sv")),
            (fg, RDFS.label, Literal(f"Focus group {activity.key}", lang="en")),
        )
        when = [k for k in ("date", "period") if entry.get(k) not in (None, "")]
        if len(when) == 2:
            self.problem(where, "give either date or period, not both")
        for key in when[:1]:
            try:
                self.study.add(*Period.of_yaml(entry[key]).triples(fg))
            except ValueError as error:
                self.problem(f"{where}, key '{key}'", str(error))
        if entry.get("participant_roles"):
            for role in self.names(entry["participant_roles"], f"{where}, key 'participant_roles'"):
                self.study.add((fg, SAMV.intervieweeCategory, Literal(role, lang=self.study.language)))
        if entry.get("municipalities"):
            for name in self.names(entry["municipalities"], f"{where}, key 'municipalities'"):
                try:
                    self.study.add((fg, PROV.wasAssociatedWith, self.resolver.municipality(name)))
                except Unresolved as error:
                    self.problem(f"{where}, key 'municipalities'", str(error))

    def case(self, entry: dict[str, Any]) -> None:
        activity = self.activity(entry, "case", "case", SAMV.Case)
        if activity is None:
            return
        self.study.add((self.study.subject, SAMV.studiesCase, activity.iri))
        if entry.get("title"):
            for text in self.text(entry["title"], f"case '{activity.key}', key 'title'"):
                self.study.add((activity.iri, RDFS.label, text))
        else:
            self.study.add((activity.iri, RDFS.label, Literal(activity.key)))
