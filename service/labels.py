"""Names of things for people: each IRI's label in Swedish and English, read from the graph.

Pages, the study comparison and resource descriptions all show labels the same way: skos:prefLabel before
rdfs:label before dcterms:title, the reader's language first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from service.executor import Binding
from service.namespaces import ID, PREFIXES, curie

LANGUAGES = ("sv", "en")
LABEL_PROPERTIES = (PREFIXES["skos"] + "prefLabel", PREFIXES["rdfs"] + "label", PREFIXES["dcterms"] + "title")
# Characters that may not stand in an IRI written <…> in SPARQL: such an IRI names nothing of ours.
NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')

Select = Callable[[str], list[Binding]]
Labels = dict[str, dict[str, str]]  # IRI -> language ('' for none) -> label


def labels_of(select: Select, iris: Iterable[str], names: Mapping[str, Mapping[str, str]] | None = None) -> Labels:
    """Each IRI's label by language, from skos:prefLabel, rdfs:label or dcterms:title.

    `names`: labels for terms of other vocabularies the graph does not label (rdf:type, dcterms:source …),
    keyed "term:CURIE" as in the interface's messages.
    """
    wanted = sorted({iri for iri in iris if not NOT_IN_IRI.search(iri)})
    if not wanted:
        return {}
    values = " ".join(f"<{iri}>" for iri in wanted)
    props = " ".join(f"<{p}>" for p in LABEL_PROPERTIES)
    rows = select(
        f"SELECT DISTINCT ?x ?p ?label WHERE {{ VALUES ?x {{ {values} }} VALUES ?p {{ {props} }} ?x ?p ?label }}"
    )
    rank = {p: i for i, p in enumerate(LABEL_PROPERTIES)}
    best: dict[str, dict[str, tuple[int, str]]] = {}
    for row in rows:
        if row["label"]["type"] != "literal":
            continue
        lang = row["label"].get("xml:lang", "").lower()
        candidate = (rank[row["p"]["value"]], row["label"]["value"])
        by_lang = best.setdefault(row["x"]["value"], {})
        if lang not in by_lang or candidate < by_lang[lang]:
            by_lang[lang] = candidate
    labels = {iri: {lang: text for lang, (_, text) in by_lang.items()} for iri, by_lang in best.items()}
    for iri in wanted:
        known = (names or {}).get("term:" + curie(iri))
        if iri not in labels and known:
            labels[iri] = dict(known)
    return labels


def pick(by_language: Mapping[str, str], lang: str) -> str | None:
    """The text in the reader's language, else the other one, else one without a language."""
    for key in (lang, *(other for other in LANGUAGES if other != lang), ""):
        if by_language.get(key):
            return by_language[key]
    return next(iter(by_language.values()), None)


def local_name(iri: str) -> str:
    """A name for an IRI without a label: the path after id/ for ours, else the last segment."""
    if iri.startswith(ID):
        return iri[len(ID) :]
    return re.split(r"[#/]", iri.rstrip("/#"))[-1] or iri
