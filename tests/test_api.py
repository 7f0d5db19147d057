"""The saved-query REST API, in this process, with a queries folder of its own: every parameter type and bad
value, injection attempts, defaults, paging, formats, limits, files with problems, and researchers saving
versions."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import Client, in_process
from openapi_spec_validator import validate

ID = "https://w3id.org/samverkan/id/"
XSD = "http://www.w3.org/2001/XMLSchema#"
TOKEN = "test-write-token"
HOSTILE_STRING = 'x" } ; DROP ALL ; #'
HOSTILE_IRI = "<http://a> } UNION { ?s ?p ?o"

ECHO = """#+ title: {{sv: "Eko: {type}", en: "Echo: {type}"}}
#+ description: Gives back the values bound to ?value.
#+ parameters:
#+   value: {{type: {type}, multiple: true{extra}}}
SELECT ?value WHERE {{ }}
"""
FILES = {
    "typed.rq": """#+ title: {sv: "Typer", en: "Types"}
#+ description: Defaults, a required value and allowed values.
#+ parameters:
#+   n: {type: integer, required: true}
#+   day: {type: date, default: "2011-03-15"}
#+   flag: {type: boolean, default: false}
#+   kind: {type: string, values: [a, b], default: a}
#+   share: {type: decimal, values: [0.5, 1.5]}
SELECT ?n ?day ?flag ?kind ?share WHERE { }
""",
    "construct-echo.rq": """#+ title: {sv: "Graf", en: "Graph"}
#+ description: A CONSTRUCT with a parameter in its WHERE group.
#+ parameters:
#+   kommun: {type: municipality, required: true}
PREFIX samv: <https://w3id.org/samverkan/ontology#>
CONSTRUCT { ?kommun samv:kommunkod ?code } WHERE { ?kommun samv:kommunkod ?code }
""",
    "runaway.rq": """#+ title: {sv: "Skenande", en: "Runaway"}
#+ description: A cartesian product of the whole store with itself, three times over.
#+ parameters:
#+   n: {type: integer, default: 1}
SELECT (COUNT(*) AS ?rows) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . FILTER(?n > 0) }
""",
    "all-municipalities.rq": """#+ title: {sv: "Kommuner", en: "Municipalities"}
#+ description: Every municipality by code (290 rows, more than this server's row cap).
PREFIX samv: <https://w3id.org/samverkan/ontology#>
SELECT ?code WHERE { ?m samv:kommunkod ?code } ORDER BY ?code
""",
    "bad-yaml.rq": """#+ title: {sv: "Fel", en: "Bad"}
#+ description: [unclosed
SELECT * WHERE { }
""",
    "bad-sparql.rq": """#+ title: {sv: "Fel", en: "Bad"}
#+ description: Bad SPARQL on line 4.
SELECT ?s WHERE {
  ?s ?p
}
""",
    "unknown-type.rq": """#+ title: {sv: "Fel", en: "Bad"}
#+ description: An unknown parameter type.
#+ parameters:
#+   x: {type: colour}
SELECT ?x WHERE { }
""",
    "misnamed.rq": """#+ name: another-name
#+ title: {sv: "Fel", en: "Bad"}
#+ description: The name differs from the file.
SELECT * WHERE { }
""",
}
BAD = {
    "bad-yaml.rq": (2, "the header is not valid YAML"),
    "bad-sparql.rq": (4, "invalid SPARQL at column"),
    "unknown-type.rq": (4, "parameter 'x' has type 'colour'"),
    "misnamed.rq": (1, "name 'another-name' differs from the file name"),
}
TYPES = [
    "iri",
    "municipality",
    "county",
    "study",
    "concept",
    "string",
    "langstring",
    "integer",
    "decimal",
    "date",
    "year",
    "boolean",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    tmp = tmp_path_factory.mktemp("api")
    queries = tmp / "queries"
    queries.mkdir()
    for ptype in TYPES:
        extra = ", scheme: samverkansform" if ptype == "concept" else ""
        (queries / f"echo-{ptype}.rq").write_text(ECHO.format(type=ptype, extra=extra), encoding="utf-8")
    for name, text in FILES.items():
        (queries / name).write_text(text, encoding="utf-8")
    with in_process(
        tmp,
        load_examples=False,
        queries_dir=queries,
        user_queries_dir=tmp / "user-queries",
        update_token=TOKEN,
        max_rows=200,
        query_timeout=5,
        query_workers=2,
    ) as started:
        yield started


def get(server: Client, name: str, **params: Any) -> requests.Response:
    return server.get(f"{server.url}/api/queries/{name}", params=params, timeout=60)


def echo(server: Client, ptype: str, *values: str) -> list[dict[str, str]]:
    response = get(server, f"echo-{ptype}", value=list(values))
    assert response.status_code == 200, response.text
    return [b["value"] for b in response.json()["results"]["bindings"]]


def message(response: requests.Response) -> str:
    assert response.headers["Content-Type"].startswith("application/json")
    return str(response.json()["message"])


# --- Each parameter type -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ptype", "given", "term"),
    [
        ("iri", ID + "kommun/1980", {"type": "uri", "value": ID + "kommun/1980"}),
        ("municipality", "1980", {"type": "uri", "value": ID + "kommun/1980"}),
        ("municipality", "Västerås stad", {"type": "uri", "value": ID + "kommun/1980"}),
        ("municipality", "eskilstuna kommun", {"type": "uri", "value": ID + "kommun/0484"}),
        ("municipality", "Lunds kommun", {"type": "uri", "value": ID + "kommun/1281"}),
        ("municipality", ID + "kommun/0980", {"type": "uri", "value": ID + "kommun/0980"}),
        ("county", "19", {"type": "uri", "value": ID + "lan/19"}),
        ("county", "Västmanland", {"type": "uri", "value": ID + "lan/19"}),
        ("county", "Stockholms län", {"type": "uri", "value": ID + "lan/01"}),
        ("study", "samverkan-som-strategi", {"type": "uri", "value": ID + "study/samverkan-som-strategi"}),
        ("study", "Samverkan som strategi", {"type": "uri", "value": ID + "study/samverkan-som-strategi"}),
        ("concept", "IOP", {"type": "uri", "value": ID + "concept/samverkansform/ideburet-offentligt-partnerskap"}),
        (
            "concept",
            "Local government federation",
            {"type": "uri", "value": ID + "concept/samverkansform/kommunalforbund"},
        ),
        ("concept", "gemensam-namnd", {"type": "uri", "value": ID + "concept/samverkansform/gemensam-namnd"}),
        ("string", "Räddningstjänst", {"type": "literal", "value": "Räddningstjänst"}),
        ("langstring", "samverkan@sv", {"type": "literal", "value": "samverkan", "xml:lang": "sv"}),
        ("langstring", "e-mail @ work@en-GB", {"type": "literal", "value": "e-mail @ work", "xml:lang": "en-gb"}),
        ("integer", "+0042", {"type": "literal", "value": "42", "datatype": XSD + "integer"}),
        ("decimal", "3,5", {"type": "literal", "value": "3.5", "datatype": XSD + "decimal"}),
        ("decimal", "7.250", {"type": "literal", "value": "7.25", "datatype": XSD + "decimal"}),
        ("date", "2011-03-15", {"type": "literal", "value": "2011-03-15", "datatype": XSD + "date"}),
        ("year", "2011", {"type": "literal", "value": "2011", "datatype": XSD + "gYear"}),
        ("boolean", "ja", {"type": "literal", "value": "true", "datatype": XSD + "boolean"}),
        ("boolean", "0", {"type": "literal", "value": "false", "datatype": XSD + "boolean"}),
    ],
)
def test_each_type_binds_the_term_it_stands_for(server: Client, ptype: str, given: str, term: dict[str, str]) -> None:
    assert echo(server, ptype, given) == [term]


@pytest.mark.parametrize(
    ("ptype", "given", "expected"),
    [
        ("iri", HOSTILE_IRI, "is not an absolute IRI"),
        ("iri", "kommun/1980", "is not an absolute IRI"),
        ("municipality", "Atlantis", "is not a municipality (kommun): its four-digit kommunkod"),
        ("municipality", "9999", "is not a municipality"),
        ("municipality", HOSTILE_IRI, "is not a municipality"),
        ("county", "99", "is not a county (län)"),
        ("study", "no-such-study", "is not a study"),
        ("concept", "teamwork", "is not a concept of a SKOS scheme"),
        ("concept", ID + "concept/styrmedel/avtal", "is not a concept"),  # a concept of another scheme
        ("langstring", "no tag here", "has no language tag"),
        ("integer", "4.5", "is not a whole number"),
        ("integer", HOSTILE_STRING, "is not a whole number"),
        ("decimal", "1e3", "is not a decimal number"),
        ("date", "2011-02-30", "is not a date written YYYY-MM-DD"),
        ("date", "15/3/2011", "is not a date written YYYY-MM-DD"),
        ("year", "11", "is not a year written with four digits"),
        ("boolean", "maybe", "is not true or false"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_parameter(server: Client, ptype: str, given: str, expected: str) -> None:
    response = get(server, f"echo-{ptype}", value=given)
    assert response.status_code == 400
    assert message(response).startswith(f"Parameter 'value': '{given}' ")
    assert expected in message(response)


def test_a_close_miss_is_answered_with_the_closest_names(server: Client) -> None:
    response = get(server, "echo-municipality", value="Vesterås")
    assert "closest: " in message(response) and "Västerås" in message(response)
    response = get(server, "echo-concept", value="kommunalforbnd")
    assert "kommunalförbund" in message(response)


# --- Injection ---------------------------------------------------------------------------------------------


def store_size(server: Client) -> int:
    query = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    response = server.get(server.url + "/sparql", params={"query": query}, timeout=30)
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


@pytest.mark.parametrize(
    "hostile",
    [
        HOSTILE_STRING,
        HOSTILE_IRI,
        '"""} ; DELETE WHERE { ?s ?p ?o } #',
        '\\" } } SELECT * WHERE { ?s ?p ?o } #',
        "line one\nline two } #",
    ],
)
def test_a_hostile_string_is_only_a_literal(server: Client, hostile: str) -> None:
    before = store_size(server)
    assert echo(server, "string", hostile) == [{"type": "literal", "value": hostile}]
    assert echo(server, "langstring", hostile + "@sv") == [{"type": "literal", "value": hostile, "xml:lang": "sv"}]
    assert store_size(server) == before


def test_a_hostile_string_matches_nothing_in_a_curated_query(client: Client) -> None:
    for hostile in (HOSTILE_STRING, HOSTILE_IRI):
        response = get(client, "search-quotes", text=hostile)
        assert response.status_code == 200 and response.json()["results"]["bindings"] == []
        response = get(client, "collaboration-evidence", search=hostile)
        assert response.status_code == 200 and response.json()["results"]["bindings"] == []
    response = get(client, "collaboration-evidence", collaboration=HOSTILE_IRI)
    assert response.status_code == 400 and message(response).startswith("Parameter 'collaboration': ")


# --- Several values, defaults, required, allowed values ------------------------------------------------------


def test_several_values_give_several_rows(server: Client) -> None:
    assert echo(server, "municipality", "1980", "Eskilstuna", "0484") == [
        {"type": "uri", "value": ID + "kommun/1980"},
        {"type": "uri", "value": ID + "kommun/0484"},
    ]


def test_defaults_apply_and_required_values_are_asked_for(server: Client) -> None:
    response = get(server, "typed")
    assert response.status_code == 400
    assert message(response) == "Parameter 'n': is required: give a whole number"
    rows = get(server, "typed", n="3", share="", flag="").json()["results"]["bindings"]  # empty: not given
    assert [{k: v["value"] for k, v in row.items()} for row in rows] == [
        {"n": "3", "day": "2011-03-15", "flag": "false", "kind": "a"}
    ]


def test_allowed_values(server: Client) -> None:
    response = get(server, "typed", n="1", kind="c")
    assert response.status_code == 400
    assert message(response) == "Parameter 'kind': 'c' is not one of the allowed values: a, b"
    response = get(server, "typed", n="1", share="1,50")
    assert response.json()["results"]["bindings"][0]["share"]["value"] == "1.5"
    values = server.get(f"{server.url}/api/queries/typed/parameters/kind/values", timeout=30).json()["values"]
    assert values == [{"value": "a", "label": "a"}, {"value": "b", "label": "b"}]


def test_one_value_where_one_is_expected_and_no_unknown_parameters(server: Client) -> None:
    response = get(server, "typed", n=["1", "2"])
    assert response.status_code == 400 and message(response) == "Parameter 'n': takes one value; 2 were given"
    response = get(server, "typed", n="1", colour="red")
    assert response.status_code == 400
    assert (
        message(response) == "Parameter 'colour': this query has no such parameter; it takes: day, flag, kind, n, share"
    )


def test_a_construct_binds_in_its_where_group_and_answers_in_rdf(server: Client) -> None:
    response = server.get(
        f"{server.url}/api/queries/construct-echo",
        params={"kommun": "Västerås"},
        headers={"Accept": "application/n-triples"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.text.strip() == f'<{ID}kommun/1980> <https://w3id.org/samverkan/ontology#kommunkod> "1980" .'


def test_a_query_runs_from_a_posted_form(server: Client) -> None:
    response = server.post(
        f"{server.url}/api/queries/echo-year", data={"value": ["2011", "2012"], "format": "csv"}, timeout=30
    )
    assert response.status_code == 200 and response.text.splitlines() == ["value", "2011", "2012"]
    response = server.post(f"{server.url}/api/queries/echo-year", json={"value": "2011"}, timeout=30)
    assert response.status_code == 415


# --- Formats, paging and the row cap -----------------------------------------------------------------------

ALL_CODES = "all-municipalities"


def codes(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return response.text.splitlines()[1:]


@pytest.mark.parametrize(
    ("accept", "fmt", "media_type"),
    [
        ("text/csv", None, "text/csv"),
        ("text/tab-separated-values", None, "text/tab-separated-values"),
        ("application/sparql-results+xml", None, "application/sparql-results+xml"),
        ("", None, "application/sparql-results+json"),
        ("text/csv", "json", "application/sparql-results+json"),
        ("", "tsv", "text/tab-separated-values"),
    ],
)
def test_formats_by_accept_header_and_format_parameter(server: Client, accept: str, fmt: str, media_type: str) -> None:
    params = {"limit": "2", **({"format": fmt} if fmt else {})}
    response = server.get(
        f"{server.url}/api/queries/{ALL_CODES}", params=params, headers={"Accept": accept}, timeout=30
    )
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(media_type)
    response = server.get(f"{server.url}/api/queries/{ALL_CODES}", params={"format": "turtle"}, timeout=30)
    assert response.status_code == 406


def test_paging_with_link_headers_gives_every_row_once(server: Client) -> None:
    url = f"{server.url}/api/queries/{ALL_CODES}?format=csv&limit=120"
    pages, links = [], []
    while url:
        response = server.get(url, timeout=30)
        pages.append(codes(response))
        links.append(response.links)
        assert response.headers["Samverkan-Limit"] == "120"
        assert response.headers["Samverkan-Rows"] == str(len(pages[-1]))
        url = response.links.get("next", {}).get("url")
    assert [len(p) for p in pages] == [120, 120, 50]
    everything = [code for page in pages for code in page]
    reference = (Path(__file__).resolve().parents[1] / "data" / "reference" / "kommuner.csv").read_text().splitlines()
    assert everything == sorted(line.split(",")[0] for line in reference[1:])
    assert "prev" not in links[0] and links[1]["prev"]["url"].endswith("limit=120&offset=0")
    assert links[2]["prev"]["url"].endswith("offset=120") and "next" not in links[2]


def test_the_row_cap_holds_and_is_stated(server: Client) -> None:
    response = get(server, ALL_CODES, format="csv")
    assert len(codes(response)) == 200
    assert response.headers["Samverkan-Truncated"] == "the answer was cut to its first 200 rows"
    assert response.headers["Samverkan-Limit"] == "200" and 'rel="next"' in response.headers["Link"]
    response = get(server, ALL_CODES, format="csv", limit="100000")
    assert len(codes(response)) == 200 and response.headers["Samverkan-Limit"] == "200"
    response = get(server, ALL_CODES, format="csv", offset="250")
    assert len(codes(response)) == 40 and "Samverkan-Truncated" not in response.headers


@pytest.mark.parametrize(("name", "value"), [("limit", "0"), ("limit", "ten"), ("offset", "-1"), ("version", "0")])
def test_bad_paging_values(server: Client, name: str, value: str) -> None:
    response = get(server, ALL_CODES, **{name: value})
    assert response.status_code == 400 and f"The '{name}' parameter is a whole number" in message(response)


# --- Time limit --------------------------------------------------------------------------------------------


def test_a_runaway_saved_query_is_stopped_while_others_are_answered(server: Client) -> None:
    outcome: dict[str, requests.Response] = {}
    runaway = threading.Thread(target=lambda: outcome.update(response=get(server, "runaway", timeout="2")))
    runaway.start()
    time.sleep(0.5)
    answered = [echo(server, "year", "2011") for _ in range(5)]
    still_running = runaway.is_alive()
    runaway.join()
    assert still_running, "the cheap queries were answered while the runaway ran"
    assert answered == [[{"type": "literal", "value": "2011", "datatype": XSD + "gYear"}]] * 5
    response = outcome["response"]
    assert response.status_code == 422 and "stopped after 2 s, the time limit" in message(response)
    response = get(server, "runaway", timeout="soon")
    assert response.status_code == 400 and "'timeout' parameter is a number of seconds" in message(response)


# --- Files with problems -----------------------------------------------------------------------------------


def test_files_with_problems_are_reported_and_the_others_served(server: Client) -> None:
    catalogue = server.get(server.url + "/api/queries", timeout=30).json()
    reported = {Path(p["file"]).name: (p["line"], p["message"]) for p in catalogue["problems"]}
    assert set(reported) == set(BAD)
    for name, (line, text) in BAD.items():
        assert reported[name][0] == line and text in reported[name][1], reported[name]
        assert f"{name}, line {line}: " in server.log.read_text(encoding="utf-8")
    served = {q["name"] for q in catalogue["queries"]}
    assert served == {f"echo-{t}" for t in TYPES} | {"typed", "construct-echo", "runaway", ALL_CODES}
    response = get(server, "bad-sparql")
    assert response.status_code == 404 and "its file has a problem: queries/bad-sparql.rq, line 4" in message(response)


def test_the_api_document_of_every_type_is_valid(server: Client) -> None:
    document = server.get(server.url + "/api/openapi.json", timeout=30).json()
    validate(document)
    schema = {t: document["paths"][f"/api/queries/echo-{t}"]["get"]["parameters"][0]["schema"] for t in TYPES}
    assert schema["date"] == {"type": "array", "items": {"type": "string", "format": "date"}}
    assert schema["decimal"]["items"] == {"type": "number"} and schema["boolean"]["items"] == {"type": "boolean"}
    typed = {p["name"]: p for p in document["paths"]["/api/queries/typed"]["get"]["parameters"]}
    assert typed["n"]["required"] is True and typed["n"]["schema"] == {"type": "integer"}
    assert typed["kind"]["schema"] == {"type": "string", "enum": ["a", "b"], "default": "a"}
    assert typed["share"]["schema"] == {"type": "number", "enum": [0.5, 1.5]}
    assert typed["flag"]["schema"] == {"type": "boolean", "default": False}


# --- Researchers' own queries ------------------------------------------------------------------------------

MINE = {
    "name": "my-count",
    "title": {"sv": "Min fråga", "en": "My query"},
    "description": "Municipalities of one county.",
    "tags": ["mine"],
    "parameters": {"lan": {"type": "county", "required": True}},
    "sparql": "PREFIX samv: <https://w3id.org/samverkan/ontology#>\n"
    "SELECT (COUNT(DISTINCT ?m) AS ?n) WHERE { ?m samv:county ?lan }\n",
}


def save(server: Client, body: Any, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return server.post(server.url + "/api/queries", json=body, headers=headers, timeout=30, **kwargs)


def test_saving_needs_the_write_token(server: Client) -> None:
    response = save(server, MINE, token=None)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert save(server, MINE, token="wrong").status_code == 403
    assert get(server, "my-count", lan="19").status_code == 404


def test_a_service_without_a_token_takes_no_queries(client: Client) -> None:
    response = save(client, MINE, token="anything")
    assert response.status_code == 403 and "without a write token" in message(response)


def test_a_saved_query_is_served_at_once_and_keeps_its_versions(server: Client, tmp_path: Path) -> None:
    response = save(server, MINE)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == "/api/queries/my-count"
    assert response.json()["version"] == 1 and response.json()["origin"] == "user"
    first = get(server, "my-count", lan="Västmanland")
    assert first.json()["results"]["bindings"][0]["n"]["value"] == "10"
    assert first.headers["Samverkan-Query-Version"] == "1"

    assert save(server, MINE).status_code == 200  # the same text again: no new version
    changed = {**MINE, "sparql": MINE["sparql"].replace("COUNT(DISTINCT ?m)", "COUNT(DISTINCT ?m) + 1000")}
    response = save(server, changed)
    assert response.status_code == 201 and response.json()["versions"] == [1, 2]
    latest = get(server, "my-count", lan="19")
    assert latest.json()["results"]["bindings"][0]["n"]["value"] == "1010"
    assert latest.headers["Samverkan-Query-Version"] == "2"
    older = get(server, "my-count", lan="19", version="1")
    assert older.json()["results"]["bindings"][0]["n"]["value"] == "10"
    assert older.headers["Samverkan-Query-Version"] == "1"
    assert get(server, "my-count", lan="19", version="3").status_code == 404

    catalogue = server.get(server.url + "/api/queries", timeout=30).json()
    listed = next(q for q in catalogue["queries"] if q["name"] == "my-count")
    assert (listed["version"], listed["versions"], listed["file"]) == (2, [1, 2], "user-queries/my-count.v2.rq")
    assert "/api/queries/my-count" in server.get(server.url + "/api/openapi.json", timeout=30).json()["paths"]


def test_a_query_can_be_saved_as_rq_text(server: Client) -> None:
    text = (
        "#+ name: my-text\n#+ title: Min text\n#+ description: Saved as a file's text.\n"
        "SELECT ?x WHERE { VALUES ?x { 1 } }\n"
    )
    response = server.post(
        server.url + "/api/queries",
        data=text.encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-query"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert get(server, "my-text").json()["results"]["bindings"] == [
        {"x": {"type": "literal", "value": "1", "datatype": XSD + "integer"}}
    ]


def test_a_saved_query_is_checked_like_a_file(server: Client) -> None:
    response = save(server, {**MINE, "name": "my-bad", "sparql": "SELECT ?lan WHERE {\n  ?lan ?p\n}\n"})
    assert response.status_code == 400
    # Lines 1-6 are the header made from the JSON fields; line 8 is where the parser stops.
    assert [(p["line"], p["message"][:14]) for p in response.json()["problems"]] == [(8, "invalid SPARQL")]
    response = save(server, {**MINE, "name": "Not A Name"})
    assert response.status_code == 400 and "lower-case letters" in message(response)
    response = save(server, {**MINE, "name": "my-extra", "colour": "red"})
    assert response.status_code == 400 and "Unknown field(s) colour" in message(response)
    assert get(server, "my-bad").status_code == 404


def test_a_saved_query_may_not_take_a_curated_name(server: Client) -> None:
    response = save(server, {**MINE, "name": "typed"})
    assert response.status_code == 409 and "'typed' is a curated query" in message(response)


def test_sparqlwrapper_runs_a_saved_query(client: Client) -> None:
    from SPARQLWrapper import JSON, SPARQLWrapper

    sparql = SPARQLWrapper(client.url + "/api/queries/municipalities")
    sparql.addParameter("lan", "Västmanland")
    with pytest.warns(RuntimeWarning, match="unknown query type"):
        sparql.setQuery("")  # the saved query brings its own SPARQL; SPARQLWrapper sends query= anyway
    sparql.setReturnFormat(JSON)
    rows = sparql.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
    assert len(rows) == 10 and {row["lanskod"]["value"] for row in rows} == {"19"}
    response = get(client, "municipalities", query="SELECT * WHERE { ?s ?p ?o }")
    assert response.status_code == 400 and "A saved query runs its own SPARQL" in message(response)


def test_a_broken_header_is_a_problem_with_its_line(server: Client) -> None:
    response = server.post(
        server.url + "/api/queries",
        data=b"#+ name: my-broken\n#+ title: [unclosed\nSELECT * WHERE { }\n",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-query"},
        timeout=30,
    )
    assert response.status_code == 400
    assert [(p["line"], p["message"][:28]) for p in response.json()["problems"]] == [
        (2, "the header is not valid YAML")
    ]
