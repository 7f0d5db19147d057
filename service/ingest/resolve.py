"""Resolution, not guessing: the words researchers write in a coding sheet, matched to IRIs of the graph.

Municipalities resolve against the reference list (name, official name or kommunkod), vocabulary values
against the SKOS schemes (Swedish and English prefLabel and altLabel), actor types against the labels of the
ontology's actor classes. Matching ignores case and spacing, nothing more; a value that matches nothing (or
more than one thing) is an error that names the closest allowed values.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS, SKOS

from service.namespaces import ID, ONTOLOGY

SAMV_KOMMUNKOD = URIRef(ONTOLOGY + "kommunkod")
SAMV_OFFICIAL_NAME = URIRef(ONTOLOGY + "officialName")
MUNICIPALITY = URIRef(ONTOLOGY + "Municipality")
PRIVATE_SECTOR = URIRef(ONTOLOGY + "PrivateSectorActor")

# The actor classes a partner_type may name, with the classes a partner of that type also gets: sector is
# kept apart from legal form in the ontology, and a company coded as "företag" is a private one (a
# kommunalt bolag is the public-sector kind of company).
ACTOR_TYPES: dict[str, tuple[str, ...]] = {
    "Municipality": (),
    "Region": (),
    "StateAgency": (),
    "HigherEducationInstitution": (),
    "Company": ("PrivateSectorActor",),
    "MunicipalCompany": (),
    "NonProfitOrganisation": (),
    "Kommunalforbund": (),
    "GemensamNamnd": (),
}

SCHEMES = {
    "samverkansform": "collaboration form (samverkansform)",
    "sakomrade": "topic (sakområde)",
    "mal": "goal (mål)",
    "styrmedel": "governance tool (styrmedel)",
}


class Unresolved(ValueError):
    """A value that names nothing known; the message says what was expected and the closest allowed values."""


@functools.lru_cache(maxsize=1 << 16)  # a large study repeats its names and values thousands of times
def normalise(text: str) -> str:
    """What matching compares: Unicode NFC, case folded, dashes unified, runs of spaces as one."""
    text = unicodedata.normalize("NFC", text).casefold()
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    return " ".join(text.split())


@functools.lru_cache(maxsize=1 << 16)
def slug(text: str) -> str:
    """An IRI segment from a name: ASCII letters and digits joined by hyphens ("Mälardalens högskola" →
    "malardalens-hogskola")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


@dataclass(frozen=True)
class Lookup:
    """Labels of one kind of thing (normalised) → the IRI they name."""

    what: str
    iris: dict[str, frozenset[URIRef]]
    shown: tuple[str, ...]  # the labels as written, offered as suggestions

    @classmethod
    def of(cls, what: str, labels: Iterable[tuple[str, URIRef]]) -> Lookup:
        iris: defaultdict[str, set[URIRef]] = defaultdict(set)
        shown: dict[str, None] = {}
        for label, iri in labels:
            iris[normalise(label)].add(iri)
            shown[label] = None
        return cls(what, {k: frozenset(v) for k, v in iris.items()}, tuple(shown))

    def find(self, value: str) -> URIRef | None:
        found = self.iris.get(normalise(value), frozenset())
        return next(iter(found)) if len(found) == 1 else None

    def resolve(self, value: str) -> URIRef:
        found = self.find(value)
        if found is None:
            raise Unresolved(self.unknown(value))
        return found

    def unknown(self, value: str) -> str:
        if len(self.iris.get(normalise(value), ())) > 1:
            return f"'{value}' names more than one {self.what}; use a more specific label"
        by_key = {normalise(label): label for label in self.shown}
        close = difflib.get_close_matches(normalise(value), list(by_key), n=3, cutoff=0.6)
        if close:
            return f"'{value}' is not a known {self.what}; closest: {quoted(by_key[c] for c in close)}"
        if len(self.shown) <= 40:
            return f"'{value}' is not a known {self.what}; allowed: {quoted(self.shown)}"
        return f"'{value}' is not a known {self.what}"


def quoted(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Resolver:
    """Everything a coding sheet's values resolve against, read from the ontology, vocabularies and reference."""

    def __init__(self, schema: Graph) -> None:
        self._municipalities = self._municipality_lookup(schema)
        self._kommunkoder = {str(code): URIRef(str(s)) for s, code in schema.subject_objects(SAMV_KOMMUNKOD)}
        self._concepts = {scheme: self._scheme_lookup(schema, scheme, what) for scheme, what in SCHEMES.items()}
        self._actor_types = Lookup.of(
            "actor type",
            (
                (str(label), URIRef(ONTOLOGY + name))
                for name in ACTOR_TYPES
                for prop in (RDFS.label, SKOS.altLabel)
                for label in schema.objects(URIRef(ONTOLOGY + name), prop)
            ),
        )

    @staticmethod
    def _municipality_lookup(schema: Graph) -> Lookup:
        labels = [
            (str(label), URIRef(str(s)))
            for prop in (RDFS.label, SAMV_OFFICIAL_NAME)
            for s, label in schema.subject_objects(prop)
            if isinstance(label, Literal) and str(s).startswith(ID + "kommun/")
        ]
        return Lookup.of("municipality in the reference list (data/reference/kommuner.csv)", labels)

    @staticmethod
    def _scheme_lookup(schema: Graph, scheme: str, what: str) -> Lookup:
        labels = [
            (str(label), URIRef(str(concept)))
            for concept in sorted(map(str, schema.subjects(SKOS.inScheme, URIRef(f"{ID}scheme/{scheme}"))))
            for prop in (SKOS.prefLabel, SKOS.altLabel)
            for label in schema.objects(URIRef(concept), prop)
        ]
        return Lookup.of(what, labels)

    def municipality(self, value: str) -> URIRef:
        """A municipality by name ("Västerås", "Västerås stad", "Eskilstuna kommun", "Gotland") or kommunkod.

        A three-digit code is a four-digit one whose leading zero a spreadsheet dropped (484 → 0484): no
        four-digit code has three digits, so this is not a guess.
        """
        text = value.strip()
        if re.fullmatch(r"\d{3,4}", text):
            code = text.zfill(4)
            if code in self._kommunkoder:
                return self._kommunkoder[code]
            raise Unresolved(f"'{value}' is not a kommunkod in the reference list (data/reference/kommuner.csv)")
        for candidate in self._name_variants(text):
            found = self._municipalities.find(candidate)
            if found is not None:
                return found
        raise Unresolved(self._municipalities.unknown(value))

    def municipality_named(self, value: str) -> URIRef | None:
        """The municipality whose name or official name this is, exactly (up to case and spacing)."""
        return self._municipalities.find(value)

    @staticmethod
    def _name_variants(name: str) -> list[str]:
        """The name as written, then without a trailing "kommun"/"stad", then without a genitive s."""
        variants = [name]
        bare = re.sub(r"\s+(kommun|stad)$", "", name.strip(), flags=re.IGNORECASE)
        if bare != name:
            variants.append(bare)
            if bare.lower().endswith("s"):
                variants.append(bare[:-1])
        return variants

    def concept(self, scheme: str, value: str) -> URIRef:
        return self._concepts[scheme].resolve(value)

    def actor_type(self, value: str) -> URIRef:
        return self._actor_types.resolve(value)
