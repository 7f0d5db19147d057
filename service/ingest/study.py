"""A study folder (study.yaml + coding sheets) turned into one named graph with its provenance, validated
with the SHACL shapes and reasoned over.

Each row (a coded observation) becomes a samv:CodedObservation (a PROV entity) linked to its study, its focus
group or case, its quote and coder, and to the collaboration it describes; collaborations, actors and
participations are built from the rows. IRIs are derived from the study id and what the rows say (never
from row order alone, never blank nodes or timestamps), so building the same folder twice gives the same
graph. Every problem found on the way is collected with its file, row and column; nothing stops at the first.

The format is documented for researchers in docs/study-format.md.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.se import orgnr

from service.config import HERMIT_MAX_TRIPLES
from service.ingest import DataFileError, read_rdf
from service.ingest.period import Period
from service.ingest.progress import Progress
from service.ingest.reasoning import InconsistentStudyError, Inference, ReasonerUnavailable, StudyText, infer
from service.ingest.refiqda import project_files, read_projects
from service.ingest.resolve import ACTOR_TYPES, Resolver, Unresolved, normalise, quoted, slug
from service.ingest.schema import Schema
from service.ingest.sheets import Row, read_sheets, sheet_files
from service.ingest.study_yaml import Activity, read_metadata, study_id
from service.ingest.studygraph import SAMV, STUDY_FILE, StudyGraph, StudyProblems, ox_iri, ox_term
from service.ingest.validation import Origin, ShapeResults, validate
from service.namespaces import BASE, ID, ONTOLOGY

SEPARATOR = "|"
LEAD_ROLE = URIRef(ID + "concept/aktorsroll/ledande-aktor")
# The terms of the rows' triples, as pyoxigraph makes them (studygraph.py says why).
_CODED_OBSERVATION, _COLLABORATION, _PARTICIPATION = (
    ox_iri(SAMV[c]) for c in ("CodedObservation", "Collaboration", "Participation")
)
_IDENTIFIER, _LABEL, _GENERATED_BY = ox_iri(DCTERMS.identifier), ox_iri(RDFS.label), ox_iri(PROV.wasGeneratedBy)
_IN_STUDY, _CODER, _QUOTE, _LOCATION, _DESCRIBES = (
    ox_iri(SAMV[p]) for p in ("inStudy", "coder", "quote", "sourceLocation", "describes")
)
_PARTICIPANT, _HAS_PARTICIPATION, _PARTICIPATION_OF, _ROLE, _LEAD_ACTOR = (
    ox_iri(SAMV[p]) for p in ("participant", "hasParticipation", "participationOf", "role", "leadActor")
)
_LEAD_ROLE = ox_iri(LEAD_ROLE)
# Read row after row: an rdflib namespace makes (and checks) a new IRI at every attribute read.
_MUNICIPALITY, _FORM, _STUDY_CODE = SAMV.Municipality, SAMV.form, SAMV.studyCode
# Columns holding vocabulary concepts: the scheme they resolve against and the property they become.
CONCEPT_COLUMNS = {
    "form": ("samverkansform", SAMV.form),
    "topic": ("sakomrade", SAMV.topic),
    "goals": ("mal", SAMV.goal),
    "governance_tools": ("styrmedel", SAMV.governanceTool),
}
LEGAL_SUFFIX = re.compile(r"(\s+\(publ\))?\s+(ab|hb|kb|aktiebolag|handelsbolag|kommanditbolag)$|^ab\s+")


@dataclass
class _Partner:
    """One partner named in one row, before partners are matched into actors."""

    row: Row
    name: str
    type_iri: URIRef | None
    type_text: str
    orgnr: str | None


@dataclass
class _Collaboration:
    iri: URIRef
    label: Literal
    rows: list[Row] = field(default_factory=list)
    participants: dict[URIRef, Row] = field(default_factory=dict)
    leads: dict[URIRef, None] = field(default_factory=dict)
    codes: dict[URIRef, dict[URIRef, None]] = field(default_factory=dict)
    periods: list[Period] = field(default_factory=list)


def build_study(
    folder: Path,
    schema: Schema,
    progress: Progress,
    on_rows: Callable[[tuple[ox.Triple, ...]], None] | None = None,
) -> StudyGraph:
    """Read a study folder (coding sheets and REFI-QDA projects) into its graph, collecting every problem (raises
    only when there is no study.yaml or no usable id in it). `on_rows` is told each row triple as it is made."""
    path = folder / STUDY_FILE
    if not path.is_file():
        message = f"has no {STUDY_FILE}; a study folder holds it and the coding sheets (docs/study-format.md)"
        raise StudyProblems(folder, [DataFileError(folder, message)])
    sheets, problems = sheet_files(folder)
    if not sheets and not project_files(folder):
        problems.append(DataFileError(folder, "has no coding sheets (*.csv or *.xlsx) or REFI-QDA projects (*.qdpx)"))
    try:
        study = StudyGraph(study_id(folder), problems=problems, on_rows=on_rows)
    except DataFileError as error:
        raise StudyProblems(folder, [*problems, error]) from error
    activities = read_metadata(path, study, schema.resolver)

    projects = project_files(folder)
    read = [what for what, given in (("coding sheets", sheets), ("REFI-QDA projects", projects)) if given]
    progress.start("reading " + (" and ".join(read) or "coding sheets"), "rows")
    contents = read_sheets(sheets)
    study.problems += contents.problems
    rows = contents.rows + read_projects(folder, study, schema.codebook)
    progress.finish(len(rows))
    if not contents.problems:
        _Rows(study, schema.resolver, ShapeResults(schema.shapes), activities, progress).build(rows)
    return study


class _Rows:
    """The coded rows of one study: observations, the partners matched into actors, and collaborations.

    The shapes of observations, collaborations and participations are checked here, as each is built, rather
    than by pyshacl: what a row leaves out (a coder, a source, evidence, a form), and what its collaboration's
    rows leave out together (a second participant, a form), is reported as SHACL would report it. The other
    shapes of those nodes hold by construction (an id, the study, a source of study.yaml, values resolved in
    their scheme, one participation per participant); tests/test_study_reading.py compares with pyshacl.
    """

    def __init__(
        self,
        study: StudyGraph,
        resolver: Resolver,
        shapes: ShapeResults,
        activities: dict[str, Activity],
        progress: Progress,
    ) -> None:
        self.s = study
        self.resolver = resolver
        self.shapes = shapes
        self.activities = activities
        self.progress = progress
        self.study_node = ox_iri(study.subject)

    def build(self, rows: list[Row]) -> None:
        self.progress.start("building the graph", "rows")
        partners = self._partners(rows)
        actors = self._actors(partners)
        collaborations: dict[str, _Collaboration] = {}
        observations: dict[str, Row] = {}
        coders: dict[str, URIRef] = {}
        for row in rows:
            self._observation(
                row, partners.get((row.path, row.number), []), actors, collaborations, observations, coders
            )
            self.progress.advance()
        for collaboration in collaborations.values():
            self._collaboration(collaboration)
        self.progress.counts.update(
            observations=len(observations),
            collaborations=len(collaborations),
            actors=len(set(actors.values())),
            coders=len(coders),
        )
        self.progress.finish()

    def _partners(self, rows: list[Row]) -> dict[tuple[Path, int], list[_Partner]]:
        """The partners each row names, with their types and organisationsnummer aligned by position."""
        found: dict[tuple[Path, int], list[_Partner]] = {}
        for row in rows:
            names = _split(row.get("partner"))
            if not names or any(not n for n in names):
                self.s.problems.append(row.error("partner", "give one or more partner names, separated by |"))
                continue
            types = _split(row.get("partner_type"))
            orgnrs = _split(row.get("partner_orgnr"))
            if len(types) != len(names):
                self.s.problems.append(
                    row.error(
                        "partner_type",
                        f"{len(names)} partner(s) but {len(types)} type(s); give one type per partner, in the same "
                        "order, separated by |",
                    )
                )
                continue
            if orgnrs and len(orgnrs) != len(names):
                self.s.problems.append(
                    row.error(
                        "partner_orgnr",
                        f"{len(names)} partner(s) but {len(orgnrs)} organisationsnummer; give one per partner in the "
                        "same order, separated by | (leave a place empty when it is not known: 556000-0000||)",
                    )
                )
                continue
            row_partners = []
            for index, name in enumerate(names):
                type_iri = self._resolve(row, "partner_type", self.resolver.actor_type, types[index])
                orgnr = self._orgnr(row, orgnrs[index]) if orgnrs and orgnrs[index] else None
                if type_iri is not None and type_iri != _MUNICIPALITY:
                    known = self.resolver.municipality_named(name)
                    if known is not None:
                        self.s.problems.append(
                            row.error(
                                "partner_type",
                                f"'{name}' is a municipality in the reference list; give its type as 'kommun'",
                            )
                        )
                        type_iri = None
                row_partners.append(_Partner(row, name, type_iri, types[index], orgnr))
            found[(row.path, row.number)] = row_partners
        return found

    def _orgnr(self, row: Row, text: str) -> str | None:
        """The organisationsnummer as NNNNNN-NNNN, checked by python-stdnum (length, digits, check digit)."""
        number, message = _checked_orgnr(text)
        if message:
            self.s.problems.append(row.error("partner_orgnr", message))
        return number

    def _actors(self, partners: dict[tuple[Path, int], list[_Partner]]) -> dict[int, URIRef]:
        """One actor per organisation: partners with the same organisationsnummer or the same normalised name.

        The IRI is id/org/{organisationsnummer} when it is known (the same in every study that gives it), else
        id/org/{slug of the normalised name}. A partner of type kommun is the municipality of the reference list.
        Returns the actor of each partner, keyed by id() of the _Partner.
        """
        parent: dict[str, str] = {}

        def find(key: str) -> str:
            while parent.setdefault(key, key) != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        organisations = [p for ps in partners.values() for p in ps if p.type_iri not in (None, _MUNICIPALITY)]
        for partner in organisations:
            name_key = "name:" + _actor_name(partner.name)
            find(name_key)
            if partner.orgnr:
                parent[find(name_key)] = find("orgnr:" + partner.orgnr)

        groups: dict[str, list[_Partner]] = {}
        for partner in organisations:
            groups.setdefault(find("name:" + _actor_name(partner.name)), []).append(partner)

        actors: dict[int, URIRef] = {}
        for members in groups.values():
            orgnrs = sorted({p.orgnr for p in members if p.orgnr})
            if len(orgnrs) > 1:
                first = members[0]
                self.s.problems.append(
                    first.row.error(
                        "partner_orgnr",
                        f"'{first.name}' is given different organisationsnummer in this study: {', '.join(orgnrs)}",
                    )
                )
                continue
            local = orgnrs[0] if orgnrs else slug(_actor_name(members[0].name))
            if not local:
                self.s.problems.append(members[0].row.error("partner", f"'{members[0].name}' is not a name"))
                continue
            iri = URIRef(f"{ID}org/{local}")
            self._actor(iri, members, orgnrs[0] if orgnrs else None)
            for member in members:
                actors[id(member)] = iri

        for partner in (p for ps in partners.values() for p in ps if p.type_iri == _MUNICIPALITY):
            municipality = self._resolve(partner.row, "partner", self.resolver.municipality, partner.name)
            if municipality is not None:
                actors[id(partner)] = municipality
                if partner.orgnr:
                    self.s.add((municipality, SAMV.organisationsnummer, Literal(partner.orgnr)))
                    self.s.origins.setdefault(
                        municipality, Origin(partner.row.path, f"'{partner.name}'", partner.row.number, "partner")
                    )
        return actors

    def _actor(self, iri: URIRef, members: list[_Partner], orgnr: str | None) -> None:
        first = members[0]
        self.s.origins.setdefault(iri, Origin(first.row.path, f"partner '{first.name}'", first.row.number, "partner"))
        self.s.add((iri, RDF.type, OWL.NamedIndividual), (iri, RDFS.label, Literal(first.name, lang=self.s.language)))
        for other in dict.fromkeys(m.name for m in members if m.name != first.name):
            self.s.add((iri, SKOS.altLabel, Literal(other, lang=self.s.language)))
        for member in members:
            assert member.type_iri is not None
            self.s.add((iri, RDF.type, member.type_iri))
            for extra in ACTOR_TYPES[member.type_iri.removeprefix(ONTOLOGY)]:
                self.s.add((iri, RDF.type, URIRef(ONTOLOGY + extra)))
        if orgnr:
            self.s.add((iri, SAMV.organisationsnummer, Literal(orgnr)))
        by_type = {m.type_iri: m for m in reversed(members)}
        if len(by_type) > 1:
            coded = [f"'{m.type_text}' ({m.row.path.name} row {m.row.number})" for m in reversed(by_type.values())]
            self.s.type_notes.append(f"'{first.name}' is coded as {' and as '.join(coded)}")

    def _resolve(self, row: Row, column: str, resolve: Callable[[str], URIRef], value: str) -> URIRef | None:
        try:
            return resolve(value)
        except Unresolved as error:
            self.s.problems.append(row.error(column, str(error)))
            return None

    def _observation(
        self,
        row: Row,
        partners: list[_Partner],
        actors: dict[int, URIRef],
        collaborations: dict[str, _Collaboration],
        observations: dict[str, Row],
        coders: dict[str, URIRef],
    ) -> None:
        key = row.get("observation")
        if not slug(key):
            self.s.problems.append(row.error("observation", "every row needs an observation id (e.g. FG1-03)"))
            return
        if slug(key) in observations:
            earlier = observations[slug(key)]
            self.s.problems.append(
                row.error(
                    "observation",
                    f"observation id '{key}' is already used in {earlier.path.name} row {earlier.number} (ids are "
                    "compared ignoring case and punctuation)",
                )
            )
            return
        observations[slug(key)] = row
        obs = self.s.row_node("observation", slug(key))
        origin = Origin(row.path, f"observation '{key}'", row.number)
        self.s.row_individual(obs, _CODED_OBSERVATION, origin)
        add = self.s.add_rows
        add(
            ox.Triple(obs, _IDENTIFIER, ox.Literal(key)),
            ox.Triple(obs, _LABEL, ox.Literal(key)),
            ox.Triple(obs, _IN_STUDY, self.study_node),
        )

        source = row.get("source")
        if source:
            activity = self.activities.get(normalise(source))
            if activity is None:
                declared = [a.key for a in self.activities.values()]
                close = difflib.get_close_matches(source, declared, n=3)
                self.s.problems.append(
                    row.error(
                        "source",
                        f"'{source}' is not a focus group or case declared in study.yaml; "
                        + (f"closest: {quoted(close)}" if close else f"declared: {quoted(declared) or 'none'}"),
                    )
                )
            else:
                add(ox.Triple(obs, _GENERATED_BY, ox_term(activity.iri)))
        else:
            self.s.shape_problems.append(self.shapes.problem(origin, "Observation-source"))

        coder = row.get("coder")
        if coder:
            coder_iri = coders.setdefault(normalise(coder), self.s.iri("coder", slug(coder) or "coder"))
            if coder_iri not in self.s.origins:
                self.s.individual(coder_iri, PROV.Agent, Origin(row.path, f"coder '{coder}'", row.number, "coder"))
                self.s.add((coder_iri, RDFS.label, Literal(coder)))
            add(ox.Triple(obs, _CODER, ox_term(coder_iri)))
        else:
            self.s.shape_problems.append(self.shapes.problem(origin, "Observation-coder"))
        if row.get("quote"):
            add(ox.Triple(obs, _QUOTE, ox.Literal(row.get("quote"), language=self.s.language)))
        if row.get("location"):
            add(ox.Triple(obs, _LOCATION, ox.Literal(row.get("location"))))
        if not row.get("quote") and not row.get("location"):
            self.s.shape_problems.append(self.shapes.problem(origin, "Observation-evidence"))

        codes: dict[URIRef, list[URIRef]] = {_STUDY_CODE: list(row.study_codes)}
        for column, (scheme, prop) in CONCEPT_COLUMNS.items():
            values = _split(row.get(column))
            resolve = partial(self.resolver.concept, scheme)
            resolved = [self._resolve(row, column, resolve, value) for value in values]
            codes[prop] = [c for c in resolved if c is not None]
        add(*(ox.Triple(obs, ox_iri(prop), ox_term(c)) for prop, concepts in codes.items() for c in concepts))
        if not codes[_FORM] and not codes[_STUDY_CODE]:
            self.s.shape_problems.append(self.shapes.problem(origin, "Observation-form"))

        period = None
        if row.get("period"):
            try:
                period = Period.parse(row.get("period"))
            except ValueError as error:
                self.s.problems.append(row.error("period", str(error)))
        municipality = self._row_municipality(row)
        if municipality is None or not partners or any(id(p) not in actors for p in partners):
            # A problem is reported already (on this row, or on the row that names a partner of it differently);
            # a half-built collaboration would only add noise.
            self.s.shape_problems.append(self.shapes.problem(origin, "Observation-describes"))
            return

        collaboration = self._collaboration_of(row, collaborations, partners)
        add(ox.Triple(obs, _DESCRIBES, ox_term(collaboration.iri)))
        collaboration.rows.append(row)
        collaboration.participants.setdefault(municipality, row)
        for partner in partners:
            collaboration.participants.setdefault(actors[id(partner)], row)
        for prop, concepts in codes.items():
            collaboration.codes.setdefault(prop, {}).update(dict.fromkeys(concepts))
        if period is not None:
            collaboration.periods.append(period)
        if row.get("lead_actor"):
            lead = self._lead(row, municipality, partners, actors)
            if lead is not None:
                collaboration.leads[lead] = None

    def _row_municipality(self, row: Row) -> URIRef | None:
        text = row.get("municipality")
        if SEPARATOR in text:
            self.s.problems.append(row.error("municipality", "one municipality per row; code the others as partners"))
            return None
        if not text:
            self.s.problems.append(row.error("municipality", "every row needs the municipality (name or kommunkod)"))
            return None
        return self._resolve(row, "municipality", self.resolver.municipality, text)

    def _collaboration_of(
        self, row: Row, collaborations: dict[str, _Collaboration], partners: list[_Partner]
    ) -> _Collaboration:
        """Rows naming the same collaboration describe one; a row without a name is a collaboration of its own."""
        name = row.get("collaboration")
        if name:
            key = slug(name) or "collaboration"
            if key not in collaborations:
                iri = self.s.iri("collaboration", key)
                collaborations[key] = _Collaboration(iri, Literal(name, lang=self.s.language))
                self.s.origins[iri] = Origin(row.path, f"collaboration '{name}'", row.number, "collaboration")
            return collaborations[key]
        observation = slug(row.get("observation"))
        iri = self.s.iri("collaboration", f"observation/{observation}")
        label = f"{row.get('municipality')} \u2013 {', '.join(p.name for p in partners)}"
        collaboration = _Collaboration(iri, Literal(label, lang=self.s.language))
        collaborations["observation/" + observation] = collaboration
        self.s.origins[iri] = Origin(
            row.path, f"the collaboration of observation '{row.get('observation')}'", row.number, "collaboration"
        )
        return collaboration

    def _lead(
        self, row: Row, municipality: URIRef, partners: list[_Partner], actors: dict[int, URIRef]
    ) -> URIRef | None:
        """The lead actor: one of the row's partners by name, or the row's municipality (by any of its names)."""
        text = row.get("lead_actor")
        for partner in partners:
            if _actor_name(partner.name) == _actor_name(text):
                return actors[id(partner)]
        try:
            named = self.resolver.municipality(text)
        except Unresolved:
            named = None
        if named is not None and (named == municipality or named in (actors[id(p)] for p in partners)):
            return named
        choices = [row.get("municipality"), *(p.name for p in partners)]
        self.s.problems.append(
            row.error("lead_actor", f"'{text}' is not one of this row's actors; choose one of {quoted(choices)}")
        )
        return None

    def _collaboration(self, c: _Collaboration) -> None:
        origin = self.s.origins[c.iri]
        node = ox_iri(c.iri)
        self.s.row_individual(node, _COLLABORATION, origin)
        add = self.s.add_rows
        add(ox.Triple(node, _LABEL, ox_term(c.label)))
        local = c.iri.removeprefix(f"{ID}collaboration/")
        for actor, row in c.participants.items():
            participation = ox.NamedNode(f"{ID}participation/{local}/{actor.removeprefix(ID).replace('/', '-')}")
            where = Origin(row.path, f"a participation in '{c.label}'", row.number, "partner")
            self.s.row_individual(participation, _PARTICIPATION, where)
            add(
                ox.Triple(node, _PARTICIPANT, ox_term(actor)),
                ox.Triple(node, _HAS_PARTICIPATION, participation),
                ox.Triple(participation, _PARTICIPATION_OF, ox_term(actor)),
            )
            if actor in c.leads:
                add(ox.Triple(participation, _ROLE, _LEAD_ROLE))
        for lead in c.leads:
            add(ox.Triple(node, _LEAD_ACTOR, ox_term(lead)))
        for prop, concepts in c.codes.items():
            add(*(ox.Triple(node, ox_iri(prop), ox_term(concept)) for concept in concepts))
        span = Period.covering(c.periods)
        if span is not None:
            add(*(ox.Triple(node, ox_iri(p), ox_term(o)) for _, p, o in span.triples(c.iri)))
        if len(c.participants) < 2:
            self.s.shape_problems.append(self.shapes.problem(origin, "Collaboration-participants"))
        if not c.codes.get(_FORM) and not c.codes.get(_STUDY_CODE):
            self.s.shape_problems.append(self.shapes.problem(origin, "Collaboration-form"))


@functools.lru_cache(maxsize=1 << 16)  # the same partners come back row after row
def _checked_orgnr(text: str) -> tuple[str | None, str | None]:
    """An organisationsnummer written NNNNNN-NNNN, or what is wrong with it."""
    try:
        return str(orgnr.format(orgnr.validate(text))), None
    except InvalidChecksum:
        return None, (
            f"'{text}' is not a valid organisationsnummer: its last digit is not the check digit of the "
            "others (a typing error?)"
        )
    except ValidationError:
        return None, f"'{text}' is not an organisationsnummer; write NNNNNN-NNNN (ten digits)"


def _split(cell: str) -> list[str]:
    """The values of a cell separated by |, trimmed; an empty cell has none."""
    return [part.strip() for part in cell.split(SEPARATOR)] if cell.strip() else []


def _actor_name(name: str) -> str:
    """A partner name as matched: normalised, with a legal-form suffix (AB, HB, KB, (publ), Aktiebolag …)
    removed."""
    return LEGAL_SUFFIX.sub("", normalise(name)).strip()


# --- Validated and reasoned -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadStudy:
    """A study folder read into its triples but not yet validated: they can be stored (and thrown away should the
    study prove invalid) while it is checked and reasoned over."""

    study_id: str
    title: str
    asserted: list[ox.Triple]  # empty when reading found problems already
    graph: StudyGraph | None  # what is checked, with where each node came from; None for a Turtle study
    text: StudyText | None  # `asserted` as N-Triples, loaded for the reasoner while it was built (coding sheets)


@dataclass(frozen=True)
class CheckedStudy:
    """A study built and validated, ready to reason over."""

    study_id: str
    title: str
    asserted: list[ox.Triple]
    context: Graph  # what the study is reasoned beside: the schema, and the reference individuals it names
    notes: list[str]  # what the rows said about types, to explain the reasoner's refusal
    text: StudyText | None


@dataclass(frozen=True)
class PreparedStudy:
    """A study ready to store: its asserted graph and what the reasoner inferred from it, with the store that
    holds both beside the schema (for the comparison table; let it go before storing the study)."""

    study_id: str
    title: str
    asserted: list[ox.Triple]
    inferred: list[ox.Triple]
    reasoned: ox.Store


def prepare_study(
    folder: Path, schema: Schema, progress: Progress, *, hermit_max_triples: int = HERMIT_MAX_TRIPLES
) -> PreparedStudy:
    """Build, validate (SHACL) and reason over a study folder: study.yaml with coding sheets, or Turtle files.

    Raises StudyProblems listing every problem (resolution and SHACL together), also when the reasoner finds
    the study inconsistent, and a DataFileError when the reasoner cannot run (no Java). Nothing is written.
    """
    study = check_study(folder, schema, progress, read_study(folder, schema, progress))
    inference = reason_over(folder, study, progress, hermit_max_triples=hermit_max_triples)
    return PreparedStudy(study.study_id, study.title, study.asserted, inference.facts, inference.store)


def read_study(folder: Path, schema: Schema, progress: Progress) -> ReadStudy:
    """Read a study folder: study.yaml with coding sheets and REFI-QDA projects (built into triples, the rows'
    nodes checked on the way, _Rows), or Turtle files."""
    if not (folder / STUDY_FILE).is_file():
        return ReadStudy(folder.name, folder.name, _turtle_study(folder), None, None)
    text = StudyText()  # the rows go to the reasoner's store as they are built, while a core is free
    built = build_study(folder, schema, progress, on_rows=text.extend)
    if built.problems:
        return ReadStudy(built.study_id, built.title, [], built, None)
    validated = built.validated_triples()
    text.add(validated)
    return ReadStudy(built.study_id, built.title, built.oxigraph_triples(validated), built, text)


def check_study(folder: Path, schema: Schema, progress: Progress, study: ReadStudy) -> CheckedStudy:
    """Validate a study read from its folder (SHACL, for what the rows' own checks do not cover: study.yaml, the
    actors); raises StudyProblems listing every problem found, in reading and in validating.

    Once it returns, let the ReadStudy go (its rdflib terms, where each node came from), so that they are freed
    before the reasoner fills its store.
    """
    built = study.graph
    if built is None:
        terms = (t for triple in study.asserted for t in (triple.subject, triple.object))
        context = schema.beside(t.value for t in terms if isinstance(t, ox.NamedNode))
        return CheckedStudy(study.study_id, study.title, study.asserted, context, [], study.text)
    context = schema.beside(built.named())
    progress.start("validating (SHACL)", "triples")
    validated = Graph()
    for triple in built.triples:
        validated.add(triple)
    shapes_problems = validate(validated, context, schema.shapes, built.origins, folder)
    problems = built.problems + _new_problems(built.shape_problems + shapes_problems, built.problems)
    progress.finish(len(built.triples) + len(built.row_triples))
    if problems:
        raise StudyProblems(folder, problems)
    return CheckedStudy(built.study_id, built.title, study.asserted, context, built.type_notes, study.text)


def reason_over(
    folder: Path, study: CheckedStudy, progress: Progress, *, hermit_max_triples: int = HERMIT_MAX_TRIPLES
) -> Inference:
    """What the reasoner infers from a checked study. Raises StudyProblems when it finds the study inconsistent
    and a DataFileError when it cannot run (no Java)."""
    progress.start("reasoning", "triples")
    try:
        inference = infer(study.context, study.asserted, hermit_max_triples=hermit_max_triples, text=study.text)
    except InconsistentStudyError as error:
        where = "".join(f"; {note}" for note in study.notes)
        message = f"the reasoner refused the study: {error}{where}"
        raise StudyProblems(folder, [DataFileError(folder, message)]) from error
    except ReasonerUnavailable as error:
        raise DataFileError(folder, f"cannot be reasoned over: {error}") from error
    progress.finish(len(study.asserted))
    return inference


def _new_problems(found: list[DataFileError], known: list[DataFileError]) -> list[DataFileError]:
    """SHACL problems not already explained by a reading problem in the same place.

    A value that did not resolve leaves its property out, which SHACL then reports again; and a row with a
    problem builds no collaboration, so its observation describes none. study.yaml is checked key by key
    when read, so its SHACL problems are consequences too.
    """
    places = {(p.path, p.row, p.column) for p in known}
    places |= {(p.path, p.row, "collaboration") for p in known}
    studies = {p.path for p in known if p.row is None}
    return [p for p in found if (p.path, p.row, p.column) not in places and not (p.row is None and p.path in studies)]


def _turtle_study(folder: Path) -> list[ox.Triple]:
    """A study written by hand in Turtle (like the seed study): every *.ttl file of the folder, each triple once."""
    files = sorted(folder.glob("*.ttl"))
    if not files:
        raise DataFileError(folder, f"is not a study folder: it has neither {STUDY_FILE} nor Turtle (*.ttl) files")
    return list(dict.fromkeys(triple for path in files for triple in read_rdf(path, base_iri=BASE)))
