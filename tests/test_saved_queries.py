"""The saved-query file format: the `#+` header, its checks with file and line, and where parameters are bound.

Reading a file and placing VALUES are pure text work, tested directly; the catalogue as served is tested through
the service (every curated file is served, with no problems).
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from conftest import ROOT, Client

from service.parameters import NoWhereGroup, bind, where_group_start
from service.saved_queries import QueryFileError, SavedQuery, header_text, read_query

HEADER = """#+ name: example
#+ title: {sv: "Exempel", en: "Example"}
#+ description: {sv: "En fråga", en: "A query"}
#+ tags: [test]
#+ view: {type: bar, x: name, y: n}
#+ parameters:
#+   kommun: {type: municipality, required: true}
#+   year: {type: year, default: 2011}
"""
SPARQL = """PREFIX samv: <https://w3id.org/samverkan/ontology#>
SELECT ?name (COUNT(*) AS ?n) WHERE { ?kommun samv:name ?name ; samv:year ?year . } GROUP BY ?name
"""


def read(text: str, file: str = "queries/example.rq") -> SavedQuery:
    return read_query(text, file, "curated", 1, {"samverkansform", "styrmedel"})


def problems(text: str, file: str = "queries/example.rq") -> list[tuple[int | None, str]]:
    with pytest.raises(QueryFileError) as caught:
        read(text, file)
    return [(p.line, p.message) for p in caught.value.problems]


def test_a_header_gives_the_metadata() -> None:
    query = read(HEADER + SPARQL)
    assert (query.name, query.title.sv, query.title.en, query.tags, query.form) == (
        "example",
        "Exempel",
        "Example",
        ("test",),
        "select",
    )
    assert dict(query.view) == {"type": "bar", "x": "name", "y": "n"}
    kommun, year = query.parameters
    assert (kommun.name, kommun.type, kommun.required, kommun.default) == ("kommun", "municipality", True, ())
    assert (year.name, year.type, year.required, year.default) == ("year", "year", False, ("2011",))
    assert query.sparql == SPARQL


def test_a_plain_text_title_serves_both_languages() -> None:
    query = read(HEADER.replace('{sv: "Exempel", en: "Example"}', "Exempel") + SPARQL)
    assert (query.title.sv, query.title.en) == ("Exempel", "Exempel")


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("tags: [test]", "tags: [test"), 5, "the header is not valid YAML"),
        (("#+ name: example", "#+ name: other"), 1, "name 'other' differs from the file name; call the file other.rq"),
        (("  year: {type: year", "  year: {type: yeer"), 8, "parameter 'year' has type 'yeer'; the types are: iri,"),
        (("tags: [test]", "tags: [test]\n#+ paramters: {}"), 5, "unknown header key 'paramters'"),
        (("view: {type: bar", "view: {type: pie"), 5, "view must be {type: …} with a type among: table, bar"),
        (("x: name", "x: label"), 5, "view x: there is no column ?label in the query"),
        (("required: true}", "required: true, default: '1980'}"), 7, "either required or has a default, not both"),
        (("year: {type: year, default: 2011}", "year: {type: year, default: 20111}"), 8, "is not a year"),
        (("year: {type: year,", "limit: {type: integer,"), 8, "'limit' is a parameter of the API itself"),
        (("year: {type: year", "when: {type: year"), 8, "parameter 'when' is not used in the query"),
    ],
)
def test_header_problems_name_their_line(change: tuple[str, str], line: int, message: str) -> None:
    found = problems((HEADER + SPARQL).replace(*change, 1))
    assert any(at == line and message in text for at, text in found), found


@pytest.mark.parametrize(
    ("sparql", "line", "message"),
    [
        (
            "SELECT ?kommun ?year WHERE {\n  ?kommun ?p\n}\n",
            10,
            "invalid SPARQL at column 3, the parser cannot read on from here: ?kommun ?p",
        ),
        ("SELECT ?kommun ?year WHERE {\n  ?kommun ex:p ?year .\n}\n", 10, "unknown prefix 'ex:'; declare it"),
        ("INSERT DATA { <a> <b> <c> }\n", 9, "invalid SPARQL"),
    ],
)
def test_sparql_problems_name_the_file_line(sparql: str, line: int, message: str) -> None:
    found = problems(HEADER + sparql)
    assert any(at == line and message in text for at, text in found), found


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = (HEADER + SPARQL).replace("type: year", "type: yeer").replace("tags: [test]", "tags: [test]\n#+ x: 1")
    assert len(problems(text)) == 2


def test_a_file_without_header_or_title_is_refused() -> None:
    assert problems(SPARQL) == [(1, "no header: the file must start with '#+ ' lines (see the docs)")]
    found = problems(HEADER.replace('#+ title: {sv: "Exempel", en: "Example"}\n', "") + SPARQL)
    assert (1, "the header has no 'title' ({sv: …, en: …})") in found


def test_concept_parameters_name_a_known_scheme() -> None:
    text = HEADER.replace("{type: municipality, required: true}", "{type: concept, scheme: styrmedl}") + SPARQL
    assert any(
        "there is no concept scheme 'styrmedl'; the schemes are: samverkansform, styrmedel" in m
        for _, m in problems(text)
    )
    text = HEADER.replace("{type: municipality, required: true}", "{type: concept}") + SPARQL
    assert any("a concept parameter names its SKOS scheme" in m for _, m in problems(text))


def test_codes_must_be_quoted_in_yaml() -> None:
    text = HEADER.replace("{type: municipality, required: true}", "{type: municipality, default: 1980}") + SPARQL
    assert any("write codes in quotes" in m for _, m in problems(text))


def test_the_short_construct_form_cannot_take_parameters() -> None:
    text = HEADER.replace("view: {type: bar, x: name, y: n}", "view: table") + (
        "PREFIX samv: <https://w3id.org/samverkan/ontology#>\nCONSTRUCT WHERE { ?kommun samv:year ?year }\n"
    )
    assert any("CONSTRUCT WHERE { … } cannot take parameters" in m for _, m in problems(text))


def test_a_user_file_is_named_with_its_version() -> None:
    query = read_query(HEADER + SPARQL, "user-queries/example.v3.rq", "user", 3)
    assert (query.name, query.version, query.origin) == ("example", 3, "user")


def test_a_json_body_becomes_the_same_header() -> None:
    fields = {
        "name": "example",
        "title": {"sv": "Exempel", "en": "Example"},
        "description": "A query",
        "parameters": {"kommun": {"type": "municipality", "required": True}, "year": {"type": "year"}},
        "view": {"type": "bar", "x": "name", "y": "n"},
    }
    query = read(header_text(fields) + SPARQL)
    assert [p.name for p in query.parameters] == ["kommun", "year"] and query.description.en == "A query"


# --- Where VALUES goes -------------------------------------------------------------------------------------


def values_of(sparql: str, **terms: list[ox.NamedNode | ox.Literal]) -> list[dict[str, str]]:
    """Bind, then run in an empty pyoxigraph store (VALUES alone gives the rows): what the binding selects."""
    result = ox.Store().query(bind(sparql, terms))
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in result]


def test_values_go_into_the_outermost_where_group_outside_strings_iris_and_comments() -> None:
    sparql = (
        "# a comment with a { brace\n"
        "PREFIX ex: <http://example.org/a#b>\n"
        'SELECT ?a (CONCAT("{", "}") AS ?b) (EXISTS { ?a ?p ?o } AS ?c)\n'
        "WHERE { { SELECT ?a WHERE { } } }"
    )
    at = where_group_start(sparql)
    assert sparql[at - 7 : at] == "WHERE {"
    assert values_of(sparql, a=[ox.Literal("1"), ox.Literal("2")]) == [
        {"a": "1", "b": "{}", "c": "false"},
        {"a": "2", "b": "{}", "c": "false"},
    ]


def test_values_in_a_construct_go_after_the_template() -> None:
    sparql = "CONSTRUCT { ?s <http://example.org/p> ?o } WHERE { BIND(<http://example.org/s> AS ?s) }"
    result = ox.Store().query(bind(sparql, {"o": [ox.Literal("x")]}))
    assert [str(t) for t in result] == ['<http://example.org/s> <http://example.org/p> "x"']


def test_no_where_group_is_an_error() -> None:
    with pytest.raises(NoWhereGroup):
        where_group_start("DESCRIBE <http://example.org/a>")


def test_a_bound_string_is_a_literal_whatever_it_holds() -> None:
    hostile = 'x" } ; DROP ALL ; # \n"""\'\\ <http://a> } UNION { ?s ?p ?o'
    assert values_of("SELECT ?v WHERE { }", v=[ox.Literal(hostile)]) == [{"v": hostile}]


# --- The catalogue as served -------------------------------------------------------------------------------


def test_every_curated_query_is_served_without_problems(client: Client) -> None:
    catalogue = client.get(client.url + "/api/queries", timeout=30).json()
    assert catalogue["problems"] == []
    files = sorted(p.stem for p in (ROOT / "queries").glob("*.rq"))
    assert sorted(q["name"] for q in catalogue["queries"]) == files
    assert len(files) >= 16
    for query in catalogue["queries"]:
        assert query["title"]["sv"] and query["title"]["en"] and query["description"]["en"], query["name"]
        assert query["origin"] == "curated" and query["version"] == 1 and query["versions"] == [1]
        assert query["url"] == f"/api/queries/{query['name']}"
        assert query["sparql"].lstrip().startswith("PREFIX") and "#+" not in query["sparql"].splitlines()[0]
        assert query["view"]["type"] in ("table", "bar", "grouped-bar", "network", "map")


def test_the_catalogue_describes_parameters(client: Client) -> None:
    catalogue = client.get(client.url + "/api/queries", timeout=30).json()
    query = next(q for q in catalogue["queries"] if q["name"] == "find-collaborations")
    form = next(p for p in query["parameters"] if p["name"] == "form")
    assert form["type"] == "concept" and form["scheme"] == "samverkansform" and form["multiple"] is True
    assert form["values_url"] == "/api/queries/find-collaborations/parameters/form/values"
    values = client.get(client.url + form["values_url"], timeout=30).json()["values"]
    iop = next(v for v in values if v["value"].endswith("/ideburet-offentligt-partnerskap"))
    assert iop["label"] == "idéburet offentligt partnerskap"
    frm = next(p for p in query["parameters"] if p["name"] == "from")
    assert frm["type"] == "year" and frm["values_url"] is None
    compare = next(q for q in catalogue["queries"] if q["name"] == "compare-studies")
    dimension = next(p for p in compare["parameters"] if p["name"] == "dimension")
    assert dimension["values"] == ["form", "goal", "tool", "topic", "sector"] and dimension["default"] == ["form"]


def test_the_values_of_a_municipality_parameter_list_all_290(client: Client) -> None:
    url = client.url + "/api/queries/municipality-profile/parameters/kommun/values"
    values = client.get(url, timeout=30).json()["values"]
    assert len(values) == 290
    assert {"value": "https://w3id.org/samverkan/id/kommun/1980", "label": "Västerås"} in values
    missing = client.get(client.url + "/api/queries/find-collaborations/parameters/from/values", timeout=30)
    assert missing.status_code == 404 and "takes any year value" in missing.json()["message"]


def test_one_definition_and_unknown_names(client: Client) -> None:
    response = client.get(client.url + "/api/queries/samhallskontraktet/definition", timeout=30)
    assert response.status_code == 200 and response.json()["name"] == "samhallskontraktet"
    assert response.headers["Samverkan-Query-Version"] == "1"
    response = client.get(client.url + "/api/queries/no-such-query", timeout=30)
    assert response.status_code == 404
    assert response.json()["message"] == "There is no saved query 'no-such-query'; GET /api/queries lists them."


def test_the_example_in_the_docs_is_a_valid_query_file() -> None:
    docs = (ROOT / "docs" / "saved-queries.md").read_text(encoding="utf-8")
    example = docs.split("```sparql\n#+ name: partners-of-a-municipality", 1)[1].split("```", 1)[0]
    query = read("#+ name: partners-of-a-municipality" + example, "queries/partners-of-a-municipality.rq")
    assert [(p.name, p.type, p.multiple) for p in query.parameters] == [
        ("kommun", "municipality", False),
        ("form", "concept", True),
    ]


def test_a_where_group_that_is_only_a_sub_query_is_refused() -> None:
    with pytest.raises(NoWhereGroup, match="wrap it"):
        where_group_start("SELECT ?a WHERE { SELECT ?a WHERE { } }")
    assert values_of("SELECT ?a WHERE { { SELECT ?a WHERE { } } }", a=[ox.Literal("x")]) == [{"a": "x"}]
