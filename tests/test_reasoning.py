"""Reasoning over a study: the facts it adds, the contradictions it refuses, and what happens without Java.

HermiT runs cost seconds each, so only four tests run it; the rules engine (used for large studies) is checked
against HermiT on the same study and covers the other contradictions.
"""

from __future__ import annotations

import stat
from pathlib import Path

import owlready2
import pyoxigraph as ox
import pytest
from conftest import ROOT
from rdflib import Graph, Namespace
from rdflib.namespace import RDF

from service.config import HERMIT_MAX_TRIPLES
from service.ingest import reasoning
from service.ingest.progress import Progress
from service.ingest.reasoning import InconsistentStudyError, ReasonerUnavailable
from service.ingest.reference import reference_triples
from service.ingest.schema import Schema, to_rdflib
from service.ingest.study import build_study
from service.namespaces import ID, ONTOLOGY

SAMV = Namespace(ONTOLOGY)
PROV = Namespace("http://www.w3.org/ns/prov#")
KOMMUN = Namespace(ID + "kommun/")
ORG = Namespace(ID + "org/")
X = Namespace(ID + "test/")
RULES_ONLY = 0  # hermit_max_triples: every study counts as large

PREFIXES = f"""
@prefix samv: <{ONTOLOGY}> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix kommun: <{KOMMUN}> .
@prefix org: <{ORG}> .
@prefix x: <{X}> .
"""

STUDY = """
org:mdh a samv:HigherEducationInstitution , samv:StateAgency , owl:NamedIndividual ;
    rdfs:label "Mälardalens högskola"@sv .
org:foretag a samv:Company , samv:PrivateSectorActor , owl:NamedIndividual ; rdfs:label "Exempelbolaget AB"@sv .
org:forening a samv:NonProfitOrganisation , owl:NamedIndividual ; rdfs:label "Exempelföreningen"@sv .

x:kontrakt a samv:Collaboration , owl:NamedIndividual ;
    samv:participant kommun:1980 , kommun:0484 , org:mdh ; samv:leadActor org:mdh .
x:upphandling a samv:Collaboration , owl:NamedIndividual ; samv:participant kommun:1980 ; samv:leadActor org:foretag .
x:iop a samv:Collaboration , owl:NamedIndividual ; samv:participant org:forening , org:foretag .

x:study a samv:Study , owl:NamedIndividual .
x:fg a samv:FocusGroup , owl:NamedIndividual .
x:coder a prov:Person , owl:NamedIndividual .
x:obs a samv:CodedObservation , owl:NamedIndividual ;
    samv:inStudy x:study ; prov:wasGeneratedBy x:fg ; samv:coder x:coder ; samv:describes x:kontrakt .
"""

# The same company coded as företag in one row (Company + PrivateSectorActor) and kommunalt bolag in another.
BOTH_SECTORS = """
org:bolag a samv:Company , samv:PrivateSectorActor , samv:MunicipalCompany , owl:NamedIndividual ;
    rdfs:label "Exempelbolaget AB"@sv .
x:samverkan a samv:Collaboration , owl:NamedIndividual ; samv:participant kommun:1980 , org:bolag .
"""
BOTH_SECTORS_MESSAGE = (
    "'Exempelbolaget AB' is coded both as a private sector actor and as a public sector actor "
    "(from samv:MunicipalCompany), which are disjoint (samv:PrivateSectorActor and samv:PublicSectorActor)"
)
TWO_CODES = 'kommun:1980 samv:kommunkod "1981" .'
TWO_CODES_MESSAGE = (
    '\'Västerås\' has two values of samv:kommunkod (municipality code), "1980" and "1981", '
    "but can have only one (samv:kommunkod is a functional property)"
)


def turtle(body: str) -> Graph:
    return Graph().parse(data=PREFIXES + body, format="turtle")


def infer(schema: Graph, data: Graph, hermit_max_triples: int = HERMIT_MAX_TRIPLES) -> Graph:
    """service.ingest.reasoning.infer (pyoxigraph triples in and out) on the rdflib graphs these tests write."""
    triples = [quad.triple for quad in ox.parse(data.serialize(format="nt"), format=ox.RdfFormat.N_TRIPLES)]
    return to_rdflib(reasoning.infer(schema, triples, hermit_max_triples=hermit_max_triples).facts)


@pytest.fixture(scope="module")
def schema() -> Graph:
    """Ontology, vocabularies and the reference list of municipalities: what the loader passes as schema."""
    graph = Graph().parse(ROOT / "ontology" / "samverkan.ttl").parse(ROOT / "ontology" / "vocabularies.ttl")
    reference = reference_triples(ROOT / "data" / "reference" / "lan.csv", ROOT / "data" / "reference" / "kommuner.csv")
    return graph.parse(data=ox.serialize(reference, format=ox.RdfFormat.N_TRIPLES), format="nt")


@pytest.fixture(scope="module")
def inferred(schema: Graph) -> Graph:
    return infer(schema, turtle(STUDY))


def test_defined_classes_are_filled(inferred: Graph) -> None:
    types = set(inferred.subject_objects(RDF.type))
    assert (X.kontrakt, SAMV.InterMunicipalCollaboration) in types  # Västerås 1980 and Eskilstuna 0484 differ
    assert (X.kontrakt, SAMV.MunicipalityUniversityCollaboration) in types
    assert (X.upphandling, SAMV.CrossSectorCollaboration) in types  # public + private, through the lead actor
    assert (X.iop, SAMV.CrossSectorCollaboration) in types  # private + civil society
    assert (X.kontrakt, SAMV.CrossSectorCollaboration) not in types  # all public
    assert (X.upphandling, SAMV.InterMunicipalCollaboration) not in types
    assert (X.obs, SAMV.Collaboration) not in types


def test_super_classes_inverse_and_super_properties(inferred: Graph) -> None:
    expected = [
        (X.kontrakt, RDF.type, PROV.Activity),
        (ORG.mdh, RDF.type, SAMV.PublicSectorActor),  # a state agency
        (ORG.forening, RDF.type, SAMV.CivilSocietyActor),
        (X.coder, RDF.type, PROV.Agent),
        (KOMMUN["1980"], SAMV.participatesIn, X.kontrakt),  # inverse
        (ORG.foretag, SAMV.participatesIn, X.upphandling),  # inverse of a super-property value
        (X.upphandling, SAMV.participant, ORG.foretag),  # samv:leadActor ⊑ samv:participant
        (X.kontrakt, PROV.wasAssociatedWith, KOMMUN["0484"]),  # samv:participant ⊑ prov:wasAssociatedWith
        (X.obs, PROV.wasAttributedTo, X.coder),  # samv:coder ⊑ prov:wasAttributedTo
    ]
    assert [t for t in expected if t not in inferred] == []


def test_only_new_facts_about_the_study(inferred: Graph, schema: Graph) -> None:
    """Nothing restated, no names of class expressions; of what the schema alone implies, only the classes of the
    individuals the study names (so a query for public sector actors finds Västerås through the study)."""
    data = turtle(STUDY)
    assert [t for t in inferred if t in data or t in schema] == []
    assert [t for t in inferred if any(str(term).startswith("urn:") for term in t)] == []
    assert (KOMMUN["1980"], RDF.type, SAMV.PublicSectorActor) in inferred
    assert (KOMMUN["0180"], RDF.type, SAMV.PublicSectorActor) not in inferred  # Stockholm: not in the study
    assert list(inferred.predicate_objects(KOMMUN["0180"])) == []


def test_rules_give_the_same_facts_as_hermit(inferred: Graph, schema: Graph) -> None:
    by_rules = infer(schema, turtle(STUDY), hermit_max_triples=RULES_ONLY)
    assert set(by_rules) == set(inferred)
    assert len(inferred) > 30


# A defined class whose definition reads another defined class: the second is known only once the super-classes
# of the first's expression are added, after the pass over the definitions, so the rules must look again.
CHAINED_SCHEMA = """
x:p a owl:ObjectProperty . x:q a owl:ObjectProperty .
x:Inner a owl:Class ; owl:equivalentClass [ a owl:Restriction ; owl:onProperty x:q ; owl:someValuesFrom owl:Thing ] .
x:Outer a owl:Class ; owl:equivalentClass [ a owl:Restriction ; owl:onProperty x:p ; owl:someValuesFrom x:Inner ] .
"""
CHAINED = "x:a a owl:NamedIndividual ; x:p x:b . x:b a owl:NamedIndividual ; x:q x:c . x:c a owl:NamedIndividual ."


def test_a_definition_that_reads_another_defined_class() -> None:
    by_rules = infer(turtle(CHAINED_SCHEMA), turtle(CHAINED), hermit_max_triples=RULES_ONLY)
    assert (X.b, RDF.type, X.Inner) in by_rules
    assert (X.a, RDF.type, X.Outer) in by_rules
    assert set(by_rules) == set(infer(turtle(CHAINED_SCHEMA), turtle(CHAINED)))


# Two municipalities without a kommunkod: only owl:differentFrom says they differ (the pairwise check, run for the
# collaborations no functional property settles); two others that might be one and the same.
DIFFERENT_FROM = """
x:a a samv:Municipality , owl:NamedIndividual ; owl:differentFrom x:b . x:b a samv:Municipality , owl:NamedIndividual .
x:c a samv:Municipality , owl:NamedIndividual . x:d a samv:Municipality , owl:NamedIndividual .
x:ab a samv:Collaboration , owl:NamedIndividual ; samv:participant x:a , x:b .
x:cd a samv:Collaboration , owl:NamedIndividual ; samv:participant x:c , x:d .
"""


def test_municipalities_known_different_only_by_different_from(schema: Graph) -> None:
    by_rules = infer(schema, turtle(DIFFERENT_FROM), hermit_max_triples=RULES_ONLY)
    assert (X.ab, RDF.type, SAMV.InterMunicipalCollaboration) in by_rules
    assert (X.cd, RDF.type, SAMV.InterMunicipalCollaboration) not in by_rules
    assert set(by_rules) == set(infer(schema, turtle(DIFFERENT_FROM)))


def test_both_sectors_refused_by_hermit_naming_actor_and_axiom(schema: Graph) -> None:
    with pytest.raises(InconsistentStudyError) as refused:
        infer(schema, turtle(BOTH_SECTORS))
    assert str(refused.value) == BOTH_SECTORS_MESSAGE
    assert refused.value.problems == [BOTH_SECTORS_MESSAGE]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BOTH_SECTORS, BOTH_SECTORS_MESSAGE),
        (TWO_CODES, TWO_CODES_MESSAGE),
        (
            'x:region a samv:Region , owl:NamedIndividual ; rdfs:label "Region Exempel"@sv ; samv:lanskod "19" .',
            "'Region Exempel' is coded both as an actor (from samv:Region) and as a county (from its samv:lanskod, "
            "whose domain is samv:County), which are disjoint (samv:Actor and samv:County)",
        ),
        (
            BOTH_SECTORS + TWO_CODES,
            f"the study contradicts the ontology in 2 places: (1) {BOTH_SECTORS_MESSAGE} (2) {TWO_CODES_MESSAGE}",
        ),
    ],
    ids=["both-sectors", "two-kommunkoder", "county-code-on-a-region", "two-problems"],
)
def test_contradictions_refused_by_the_rules(schema: Graph, body: str, message: str) -> None:
    with pytest.raises(InconsistentStudyError) as refused:
        infer(schema, turtle(body), hermit_max_triples=RULES_ONLY)
    assert str(refused.value) == message


def test_functional_property_refused_by_hermit(schema: Graph) -> None:
    with pytest.raises(InconsistentStudyError) as refused:
        infer(schema, turtle(TWO_CODES))
    assert str(refused.value) == TWO_CODES_MESSAGE


def test_contradiction_without_a_named_cause_still_refused_in_words(schema: Graph) -> None:
    """A kommunkod given as a number is outside the property's range xsd:string: HermiT's catch, not the rules'."""
    with pytest.raises(InconsistentStudyError) as refused:
        infer(schema, turtle("x:kommun a samv:Municipality , owl:NamedIndividual ; samv:kommunkod 1980 ."))
    assert str(refused.value).startswith("HermiT found the study inconsistent with the ontology, but none of")


def java_missing_message(java: str) -> str:
    return (
        f"Reasoning needs Java (a JRE 11 or newer), but '{java}' was not found: install it, e.g. "
        "`apt-get install default-jre-headless` (Debian/Ubuntu) or from https://adoptium.net, "
        "or make sure `java` is on PATH."
    )


def test_java_missing_from_the_configured_path(schema: Graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = str(tmp_path / "no-java-here" / "java")
    monkeypatch.setattr(owlready2, "JAVA_EXE", nowhere)
    with pytest.raises(ReasonerUnavailable) as unavailable:
        infer(schema, turtle(STUDY))
    assert str(unavailable.value) == java_missing_message(nowhere)


def test_java_missing_from_path(schema: Graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owlready2, "JAVA_EXE", "java")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ReasonerUnavailable) as unavailable:
        infer(schema, turtle(STUDY))
    assert str(unavailable.value) == java_missing_message("java")


def test_large_studies_need_no_java(schema: Graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owlready2, "JAVA_EXE", str(tmp_path / "no-java"))
    inferred = infer(schema, turtle(STUDY), hermit_max_triples=RULES_ONLY)
    assert (X.kontrakt, RDF.type, SAMV.InterMunicipalCollaboration) in inferred


def test_java_that_fails_to_start(schema: Graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "java"
    broken.write_text("#!/bin/sh\necho 'Error: Could not create the Java Virtual Machine.' >&2\nexit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(owlready2, "JAVA_EXE", str(broken))
    with pytest.raises(ReasonerUnavailable) as unavailable:
        infer(schema, turtle(STUDY))
    assert str(unavailable.value) == (
        f"The reasoner HermiT could not run with Java ('{broken}'): Error: Could not create the Java Virtual "
        "Machine. Reasoning needs a working Java (a JRE 11 or newer): install it, e.g. `apt-get install "
        "default-jre-headless` (Debian/Ubuntu) or from https://adoptium.net."
    )


def one_pass_and_sparql(context: Graph, data: list[ox.Triple]) -> tuple[set[ox.Quad], set[ox.Quad]]:
    """The store's facts when the first two phases of the rules are the Python pass (_Rules.one_triple_implied,
    used for large studies), and when they are the SPARQL rules."""
    rules = reasoning._Rules(context)
    schema_quads = list(ox.parse(context.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_QUADS))

    def reasoned(one_pass: bool) -> set[ox.Quad]:
        store = ox.Store()
        store.extend(schema_quads)  # the same blank nodes in both stores
        rules.materialise(store)
        store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in data)
        if one_pass:
            assert reasoning._add_missing(store, rules.one_triple_implied(data))  # the study implies something
        rules.materialise(store, from_defined_classes=one_pass)
        return set(store.quads_for_pattern(None, None, None, ox.DefaultGraph()))

    return reasoned(one_pass=True), reasoned(one_pass=False)


UNTYPED = """
x:obs samv:describes x:samarbete ; samv:inStudy x:studie ; samv:quote "Vi samverkar."@sv .
x:samarbete samv:participant kommun:1980 , org:bolaget ; samv:hasParticipation x:deltagande .
x:deltagande samv:participationOf org:bolaget .
"""


@pytest.mark.parametrize("body", [STUDY, UNTYPED], ids=["study", "untyped"])
def test_the_one_pass_finds_what_the_sparql_rules_find(schema: Graph, body: str) -> None:
    """Also on a study that leaves every type to domains and ranges."""
    data = [q.triple for q in ox.parse(turtle(body).serialize(format="nt"), format=ox.RdfFormat.N_TRIPLES)]
    by_pass, by_sparql = one_pass_and_sparql(schema, data)
    assert by_pass == by_sparql


@pytest.mark.parametrize(
    "folder", sorted(p for p in (ROOT / "data" / "examples").iterdir() if (p / "study.yaml").is_file()), ids=str
)
def test_the_one_pass_finds_what_the_sparql_rules_find_on_each_example(folder: Path) -> None:
    schema = Schema(ROOT)
    built = build_study(folder, schema, Progress())
    by_pass, by_sparql = one_pass_and_sparql(schema.beside(built.named()), built.oxigraph_triples())
    assert by_pass == by_sparql


def test_study_text_writes_each_triple_once_in_pieces_and_loads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows gathered into pieces of CHUNK as they come, a piece added whole (with a blank node in two triples):
    each triple is in one piece only, and the store holds them all, the blank node as one node."""
    monkeypatch.setattr(reasoning.StudyText, "CHUNK", 3)
    p = ox.NamedNode(str(X.p))
    rows = [ox.Triple(ox.NamedNode(f"{X}row{n}"), p, ox.Literal(str(n))) for n in range(10)]
    node = ox.BlankNode()
    whole = [ox.Triple(node, p, ox.Literal("a")), ox.Triple(ox.NamedNode(str(X.study)), p, node)]
    text = reasoning.StudyText()
    for row in rows:
        text.extend((row,))
    text.add(whole)
    store = text.loaded()
    pieces = [[q.triple for q in ox.parse(piece, format=ox.RdfFormat.N_TRIPLES)] for piece in text.pieces]
    assert [len(piece) for piece in pieces] == [3, 3, 3, 1, 2]
    assert sorted(map(str, (t for piece in pieces[:4] for t in piece))) == sorted(map(str, rows))
    stored = list(store.quads_for_pattern(None, None, None, ox.DefaultGraph()))
    assert len(stored) == 12
    assert len({t for q in stored for t in (q.subject, q.object) if isinstance(t, ox.BlankNode)}) == 1
    quoted = ox.Triple(ox.NamedNode(f"{X}row"), p, ox.Literal("_:b0 is no node"))
    reasoning.StudyText().add([quoted])  # a piece given whole may name any
    gathering = reasoning.StudyText()
    gathering.extend([quoted, quoted, quoted])  # text that reads like a blank node is checked, and passes
    with pytest.raises(ValueError, match="name a blank node"):
        gathering.extend([*whole, quoted])  # a piece of CHUNK (3) triples


def test_a_rule_with_candidates_also_reaches_blank_nodes() -> None:
    """VALUES cannot hold a blank node, so a rule whose candidates include one runs over every individual."""
    store = ox.Store()
    named, blank, p = ox.NamedNode(X.named), ox.BlankNode(), ox.NamedNode(X.p)
    store.extend([ox.Quad(named, p, named), ox.Quad(blank, p, named)])
    rule = reasoning._Rule(
        f"INSERT {{ ?x a <{X.T}> }} WHERE {{ {reasoning._CANDIDATES} ?x <{X.p}> ?y }}", f"SELECT ?x {{ ?x <{X.p}> ?y }}"
    )
    rule.apply(store)
    assert {q.subject for q in store.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), None)} == {named, blank}
