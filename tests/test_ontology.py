"""The ontology, its SKOS vocabularies and the seed study: well-formed, OWL 2 DL, consistent, and reasoned over."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import owlready2
import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from service.ingest.reasoning import ReasoningResult, reason
from service.ingest.reference import reference_triples
from service.namespaces import ID, ONTOLOGY, ONTOLOGY_IRI

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY_FILE = ROOT / "ontology" / "samverkan.ttl"
VOCABULARIES_FILE = ROOT / "ontology" / "vocabularies.ttl"
STUDY_FILE = ROOT / "data" / "studies" / "samverkan-som-strategi" / "study.ttl"
FILES = [ONTOLOGY_FILE, VOCABULARIES_FILE, STUDY_FILE]
# The municipalities the seed refers to are typed and named by the reference data, loaded beside it.
REFERENCE = Graph().parse(
    data=ox.serialize(
        reference_triples(ROOT / "data" / "reference" / "lan.csv", ROOT / "data" / "reference" / "kommuner.csv"),
        format=ox.RdfFormat.N_TRIPLES,
    ),
    format="nt",
)

SAMV = Namespace(ONTOLOGY)
PROV = Namespace("http://www.w3.org/ns/prov#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # rdflib's closed XSD namespace warns under pytest
BUILT_IN = (str(RDF), str(RDFS), str(OWL), str(XSD))
ENTITY_TYPES = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.NamedIndividual}
PROPERTY_TYPES = {OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty}

SAMHALLSKONTRAKTET = URIRef(ID + "collaboration/samhallskontraktet")
VASTERAS = URIRef(ID + "kommun/1980")
ESKILSTUNA = URIRef(ID + "kommun/0484")
MDH = URIRef(ID + "org/malardalens-hogskola")

PREFIXES = f"""
@prefix samv: <{ONTOLOGY}> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix ex: <http://example.org/> .
"""


def is_built_in(term: object) -> bool:
    return isinstance(term, URIRef) and str(term).startswith(BUILT_IN)


@pytest.fixture(scope="module")
def graphs() -> dict[Path, Graph]:
    return {path: Graph().parse(path) for path in FILES}


@pytest.fixture(scope="module")
def union(graphs: dict[Path, Graph]) -> Graph:
    merged = Graph()
    for graph in [*graphs.values(), REFERENCE]:
        merged += graph
    return merged


@pytest.fixture(scope="module")
def seed_reasoning() -> ReasoningResult:
    return reason([*FILES, REFERENCE])


def turtle(body: str) -> Graph:
    return Graph().parse(data=PREFIXES + body, format="turtle")


# --- Well-formedness -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_parses_and_has_no_imports(graphs: dict[Path, Graph], path: Path) -> None:
    assert len(graphs[path]) > 100
    assert not list(graphs[path].triples((None, OWL.imports, None)))


def test_ontology_header(graphs: dict[Path, Graph]) -> None:
    g = graphs[ONTOLOGY_FILE]
    onto = URIRef(ONTOLOGY_IRI)
    assert (onto, RDF.type, OWL.Ontology) in g
    assert g.value(onto, OWL.versionIRI) == URIRef(ONTOLOGY_IRI + "/1.0.0")
    assert g.value(onto, OWL.versionInfo) == Literal("1.0.0")
    assert g.value(onto, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert g.value(onto, DCTERMS.creator) == Literal("Samverkan KG developers")
    assert g.value(onto, DCTERMS.created) == Literal("2026-11-27", datatype=XSD.date)
    for prop in (DCTERMS.title, DCTERMS.description):
        assert {o.language for o in g.objects(onto, prop) if isinstance(o, Literal)} == {"sv", "en"}


def test_every_samv_term_has_labels_and_definitions(graphs: dict[Path, Graph]) -> None:
    g = graphs[ONTOLOGY_FILE]
    terms = {s for t in ENTITY_TYPES for s in g.subjects(RDF.type, t) if str(s).startswith(ONTOLOGY)}
    assert len(terms) > 60
    missing = []
    for term in sorted(terms, key=str):
        for prop in (RDFS.label, SKOS.definition):
            languages = {o.language for o in g.objects(term, prop) if isinstance(o, Literal)}
            if not {"sv", "en"} <= languages:
                missing.append(f"{term} {prop}: {languages}")
    assert not missing, "\n".join(missing)


def test_concepts_are_complete_and_named_by_scheme_and_slug(graphs: dict[Path, Graph]) -> None:
    g = graphs[VOCABULARIES_FILE]
    concepts = set(g.subjects(RDF.type, SKOS.Concept))
    assert len(concepts) > 40
    problems = []
    for concept in sorted(concepts, key=str):
        match = re.fullmatch(re.escape(ID) + r"concept/([a-z]+)/([a-z0-9-]+)", str(concept))
        if not match:
            problems.append(f"{concept}: IRI is not id/concept/{{scheme}}/{{ascii-slug}}")
            continue
        scheme, slug = match.groups()
        if set(g.objects(concept, SKOS.inScheme)) != {URIRef(f"{ID}scheme/{scheme}")}:
            problems.append(f"{concept}: skos:inScheme is not its scheme")
        if g.value(concept, SKOS.notation) != Literal(slug):
            problems.append(f"{concept}: skos:notation is not the slug")
        if (concept, RDF.type, OWL.NamedIndividual) not in g:
            problems.append(f"{concept}: not an owl:NamedIndividual")
        if not (set(g.objects(concept, SKOS.topConceptOf)) | set(g.objects(concept, SKOS.broader))):
            problems.append(f"{concept}: neither a top concept nor narrower than one")
        for prop in (SKOS.prefLabel, SKOS.definition):
            languages = {o.language for o in g.objects(concept, prop) if isinstance(o, Literal)}
            if not {"sv", "en"} <= languages:
                problems.append(f"{concept} {prop}: {languages}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("scheme", "slugs"),
    [
        (
            "samverkansform",
            "kommunalforbund gemensam-namnd avtalssamverkan kommunalt-bolag ideburet-offentligt-partnerskap "
            "upphandling natverk partnerskap projekt samverkansavtal",
        ),
        (
            "styrmedel",
            "avtal forbundsordning agardirektiv bolagsordning styrgrupp gemensam-budget uppfoljning handlingsplan "
            "avsiktsforklaring",
        ),
        (
            "mal",
            "kompetensforsorjning mota-samhallsforandringar hantera-kriser effektivitet kvalitet regional-utveckling "
            "kunskapsutveckling",
        ),
        (
            "sakomrade",
            "utbildning naringsliv socialtjanst vard-och-omsorg infrastruktur miljo kultur krisberedskap arbetsmarknad "
            "forskning-och-innovation",
        ),
        ("sektor", "offentlig-sektor privat-sektor civilsamhallet"),
        ("aktorsroll", "part ledande-aktor finansiar vard"),
    ],
)
def test_scheme_has_the_expected_concepts(graphs: dict[Path, Graph], scheme: str, slugs: str) -> None:
    g = graphs[VOCABULARIES_FILE]
    scheme_iri = URIRef(f"{ID}scheme/{scheme}")
    assert (scheme_iri, RDF.type, SKOS.ConceptScheme) in g
    members = set(g.subjects(SKOS.inScheme, scheme_iri))
    for slug in slugs.split():
        assert URIRef(f"{ID}concept/{scheme}/{slug}") in members, slug


def test_legal_bases_of_collaboration_forms(graphs: dict[Path, Graph]) -> None:
    g = graphs[VOCABULARIES_FILE]

    def legal_basis(slug: str) -> str:
        return str(g.value(URIRef(f"{ID}concept/samverkansform/{slug}"), SAMV.legalBasis))

    assert legal_basis("kommunalforbund") == "kommunallagen (2017:725) 9 kap."
    assert legal_basis("gemensam-namnd") == "kommunallagen (2017:725) 9 kap."
    assert legal_basis("avtalssamverkan") == "kommunallagen (2017:725) 9 kap. 37 §"
    assert legal_basis("kommunalt-bolag") == "kommunallagen (2017:725) 10 kap."
    assert "2016:1145" in legal_basis("upphandling")
    iop = URIRef(f"{ID}concept/samverkansform/ideburet-offentligt-partnerskap")
    assert g.value(iop, SAMV.legalBasis) is None
    assert Literal("IOP", lang="sv") in set(g.objects(iop, SKOS.altLabel))


# --- OWL 2 DL: declarations, no punning, OWL API profile -----------------------------------------------------


def test_every_term_used_is_declared_with_one_owl_type(union: Graph) -> None:
    kinds_of_entity = ENTITY_TYPES | {RDFS.Datatype}
    declared = {s: {t for t in union.objects(s, RDF.type) if t in kinds_of_entity} for s in union.subjects()}
    problems = []
    for predicate in sorted(set(union.predicates()), key=str):
        kinds = declared.get(predicate, set()) & PROPERTY_TYPES
        if not is_built_in(predicate) and len(kinds) != 1:
            problems.append(f"predicate {predicate} declared as {kinds or 'nothing'}")
    for cls in sorted(set(union.objects(None, RDF.type)), key=str):
        if not is_built_in(cls) and OWL.Class not in declared.get(cls, set()):
            problems.append(f"class {cls} not declared owl:Class")
    for term in sorted({t for triple in union for t in triple if isinstance(t, URIRef) and t.startswith(ONTOLOGY)}):
        if not declared.get(term):
            problems.append(f"{term} used but not declared in the ontology")
    assert not problems, "\n".join(problems)


def test_no_punning(union: Graph) -> None:
    punned = {
        s: kinds
        for s in set(union.subjects(RDF.type, None))
        if len(kinds := set(union.objects(s, RDF.type)) & (ENTITY_TYPES | {RDFS.Datatype})) > 1
    }
    assert not punned


def test_individuals_are_named_and_references_resolve(union: Graph) -> None:
    """owlready2 lists individuals only if typed owl:NamedIndividual; every id/ IRI used is defined in the union."""
    classes = set(union.subjects(RDF.type, OWL.Class))
    problems = [
        f"{s} typed {c} but not owl:NamedIndividual"
        for s, c in union.subject_objects(RDF.type)
        if c in classes and isinstance(s, URIRef) and (s, RDF.type, OWL.NamedIndividual) not in union
    ]
    defined = set(union.subjects(RDF.type, None))
    problems += [
        f"{o} (object of {p}) is not defined"
        for _, p, o in union
        if isinstance(o, URIRef) and str(o).startswith(ID) and o not in defined
    ]
    assert not problems, "\n".join(problems)


OWL_API_CHECK = """
import java.io.File;
import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.profiles.OWL2DLProfile;
import org.semanticweb.owlapi.profiles.OWLProfileViolation;

public class Owl2DlCheck {
    public static void main(String[] args) throws Exception {
        var ontology = OWLManager.createOWLOntologyManager().loadOntologyFromOntologyDocument(new File(args[0]));
        for (OWLProfileViolation v : new OWL2DLProfile().checkOntology(ontology).getViolations()) {
            System.out.println(v);
        }
    }
}
"""


def test_owl_api_finds_the_union_in_the_owl2_dl_profile(union: Graph, tmp_path: Path) -> None:
    """The OWL API inside owlready2's HermiT jar checks punning, undeclared terms and the global restrictions."""
    java = shutil.which("java")
    assert java, "Java is needed for HermiT"
    (tmp_path / "Owl2DlCheck.java").write_text(OWL_API_CHECK)
    union.serialize(tmp_path / "union.nt", format="nt", encoding="utf-8")
    hermit_jar = Path(owlready2.__file__).parent / "hermit" / "HermiT.jar"
    run = subprocess.run(
        [java, "-cp", str(hermit_jar), str(tmp_path / "Owl2DlCheck.java"), str(tmp_path / "union.nt")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert run.stdout.strip() == ""


# --- The seed study ------------------------------------------------------------------------------------------


def test_seed_research_questions_and_aim_are_word_for_word(graphs: dict[Path, Graph]) -> None:
    g = graphs[STUDY_FILE]
    questions = {str(o) for o in g.objects(None, SAMV.questionText) if isinstance(o, Literal) and o.language == "sv"}
    assert "Med vilka typer av aktörer samverkar kommuner om vad och med vilka syften?" in questions
    assert "Hur leder och styr kommuner samverkansaktiviteter?" in questions
    theme = URIRef(ID + "study/samverkan-som-strategi")
    assert str(g.value(theme, SAMV.aim)) == (
        "Detta deltema syftar till att utveckla kunskap om hur kommuner leder och styr samverkan såväl med andra "
        "offentliga organisationer som med privata aktörer och ideella organisationer för att uppnå sina mål."
    )
    assert (theme, RDF.type, SAMV.ResearchTheme) in g


def test_seed_leaves_municipalities_to_the_reference_data(graphs: dict[Path, Graph]) -> None:
    g = graphs[STUDY_FILE]
    for municipality in (VASTERAS, ESKILSTUNA):
        said = set(g.predicates(municipality, None))
        assert said <= {SAMV.organisationsnummer}, said
    assert g.value(VASTERAS, SAMV.organisationsnummer) is None  # 212000-2080 is unconfirmed
    assert g.value(ESKILSTUNA, SAMV.organisationsnummer) == Literal("212000-0357")


def test_seed_participations_match_participants(graphs: dict[Path, Graph]) -> None:
    """samv:participant is not derived from samv:Participation (it must stay simple), so data must state both."""
    g = graphs[STUDY_FILE]
    for collaboration, participation in g.subject_objects(SAMV.hasParticipation):
        actor = g.value(participation, SAMV.participationOf)
        assert (collaboration, SAMV.participant, actor) in g, actor
    assert len(set(g.objects(SAMHALLSKONTRAKTET, SAMV.participant))) == 5


# --- Reasoning -----------------------------------------------------------------------------------------------


def test_seed_is_consistent(seed_reasoning: ReasoningResult) -> None:
    assert seed_reasoning.consistent


def test_seed_defined_class_memberships(seed_reasoning: ReasoningResult) -> None:
    inferred = seed_reasoning.inferred
    assert (SAMHALLSKONTRAKTET, RDF.type, SAMV.MunicipalityUniversityCollaboration) in inferred
    assert (SAMHALLSKONTRAKTET, RDF.type, SAMV.InterMunicipalCollaboration) in inferred
    assert (SAMHALLSKONTRAKTET, RDF.type, SAMV.CrossSectorCollaboration) not in inferred  # all public actors
    assert (MDH, RDF.type, SAMV.PublicSectorActor) in inferred


def test_seed_inverse_and_super_property_values(seed_reasoning: ReasoningResult) -> None:
    inferred = seed_reasoning.inferred
    for actor in (VASTERAS, ESKILSTUNA, MDH):
        assert (actor, SAMV.participatesIn, SAMHALLSKONTRAKTET) in inferred
        assert (SAMHALLSKONTRAKTET, PROV.wasAssociatedWith, actor) in inferred
    substudy = URIRef(ID + "study/samverkan-som-strategi-delprojekt-2")
    assert (substudy, DCTERMS.isPartOf, URIRef(ID + "study/samverkan-som-strategi")) in inferred


def test_inferences_are_not_restated_input(seed_reasoning: ReasoningResult, union: Graph) -> None:
    assert len(seed_reasoning.inferred) > 0
    assert not [t for t in seed_reasoning.inferred if t in union]


SCENARIOS = """
ex:m1 a samv:Municipality , owl:NamedIndividual ; samv:kommunkod "1980" .
ex:m2 a samv:Municipality , owl:NamedIndividual ; samv:kommunkod "0484" .
ex:m3 a samv:Municipality , owl:NamedIndividual .
ex:m4 a samv:Municipality , owl:NamedIndividual .
ex:company a samv:Company , samv:PrivateSectorActor , owl:NamedIndividual .
ex:association a samv:NonProfitOrganisation , owl:NamedIndividual .

ex:byCodes a samv:Collaboration , owl:NamedIndividual ; samv:participant ex:m1 , ex:m2 .
ex:noUniqueNames a samv:Collaboration , owl:NamedIndividual ; samv:participant ex:m3 , ex:m4 .
ex:publicPrivate a samv:Collaboration , owl:NamedIndividual ; samv:leadActor ex:m1 ; samv:participant ex:company .
ex:privateCivil a samv:Collaboration , owl:NamedIndividual ; samv:participant ex:company , ex:association .

ex:study a samv:Study , owl:NamedIndividual ; samv:studiesCase ex:case .
ex:case a samv:Case , owl:NamedIndividual ; samv:caseOf ex:byCodes .
ex:focusGroup a samv:FocusGroup , owl:NamedIndividual ; samv:intervieweeCategory "kommundirektörer"@sv .
ex:coder a prov:Person , owl:NamedIndividual .
ex:form a skos:Concept , owl:NamedIndividual .
ex:observation a samv:CodedObservation , owl:NamedIndividual ;
    prov:wasGeneratedBy ex:focusGroup ; samv:inStudy ex:study ; samv:coder ex:coder ; samv:describes ex:byCodes ;
    samv:form ex:form ; samv:goal ex:form ; samv:topic ex:form ; samv:governanceTool ex:form ; samv:quote "…"@sv .
"""


def test_scenarios_defined_classes_and_sub_properties() -> None:
    """Different kommunkod values (a functional property) make municipalities distinct; distinct IRIs alone do not.

    The coded observation carries codes from the vocabularies and must stay consistent (it is no collaboration).
    """
    result = reason([ONTOLOGY_FILE, turtle(SCENARIOS)])
    assert result.consistent
    ex = Namespace("http://example.org/")
    types = {(s, o) for s, o in result.inferred.subject_objects(RDF.type)}
    assert (ex.byCodes, SAMV.InterMunicipalCollaboration) in types
    assert (ex.noUniqueNames, SAMV.InterMunicipalCollaboration) not in types
    assert (ex.publicPrivate, SAMV.InterMunicipalCollaboration) not in types
    assert (ex.publicPrivate, SAMV.CrossSectorCollaboration) in types
    assert (ex.privateCivil, SAMV.CrossSectorCollaboration) in types
    assert (ex.association, SAMV.CivilSocietyActor) in types
    assert (ex.publicPrivate, SAMV.participant, ex.m1) in result.inferred
    assert (ex.m1, SAMV.participatesIn, ex.publicPrivate) in result.inferred
    assert (ex.observation, SAMV.Collaboration) not in types


@pytest.mark.parametrize(
    "body",
    [
        "ex:x a samv:PublicSectorActor , samv:PrivateSectorActor , owl:NamedIndividual .",
        "ex:x a samv:NonProfitOrganisation , samv:Municipality , owl:NamedIndividual .",
        "ex:x a samv:Kommunalforbund , samv:Collaboration , owl:NamedIndividual .",
        'ex:x a samv:Municipality , owl:NamedIndividual ; samv:lanskod "19" .',
        'ex:x a samv:Municipality , owl:NamedIndividual ; samv:kommunkod "1980" , "0484" .',
    ],
    ids=["two-sectors", "non-profit-municipality", "federation-as-collaboration", "county-code-on-actor", "two-codes"],
)
def test_contradictions_are_found_inconsistent(body: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = reason([ONTOLOGY_FILE, turtle(body)])
    assert not result.consistent
    assert len(result.inferred) == 0
    assert list(tmp_path.iterdir()) == []  # owlready2 leaves HermiT's input behind on inconsistency
