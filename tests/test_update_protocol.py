"""SPARQL 1.1 Update at /update: closed without a token, the token checked, the protocol's ways of sending an
update and its errors, the protocol dataset, the endpoint as BASE, and all-or-nothing updates.

Against the service in this process on a scratch on-disk store (the updates here clear graphs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from conftest import Client, in_process

TOKEN = "update-protocol-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EX = "http://example.org/"
FOAF_DOCUMENT = "<http://xmlns.com/foaf/0.1/Document>"


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    tmp = tmp_path_factory.mktemp("update")
    with in_process(
        tmp, store_path=str(tmp / "store"), load_shipped_data=False, update_token=TOKEN, query_workers=1
    ) as client:
        yield client


def post_update(
    server: Client, text: str, params: dict[str, str | list[str]] | None = None, headers: dict[str, str] | None = None
) -> requests.Response:
    return server.post(
        server.url + "/update",
        params=params,
        data=text.encode("utf-8"),
        headers={"Content-Type": "application/sparql-update", **AUTH, **(headers or {})},
        timeout=60,
    )


def applied(response: requests.Response) -> None:
    assert response.status_code == 200, response.text


def ask(server: Client, query: str) -> bool:
    response = server.post(server.url + "/sparql", data={"query": query}, timeout=60)
    assert response.status_code == 200, response.text
    return bool(response.json()["boolean"])


def has_graph(server: Client, graph: str) -> bool:
    return ask(server, f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")


def test_writes_are_closed_when_the_service_has_no_token(client: Client) -> None:
    response = post_update(client, f"INSERT DATA {{ GRAPH <{EX}closed> {{ <{EX}s> <{EX}p> 1 }} }}")
    assert response.status_code == 403
    assert "Writes are closed on this service" in response.text
    assert "--update-token" in response.text
    assert not has_graph(client, f"{EX}closed")


def test_the_write_token_is_required(writable: Client) -> None:
    insert = f"INSERT DATA {{ GRAPH <{EX}unauthorised> {{ <{EX}s> <{EX}p> 1 }} }}"
    response = writable.post(
        writable.url + "/update", data=insert, headers={"Content-Type": "application/sparql-update"}, timeout=60
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer TOKEN" in response.text
    response = post_update(writable, insert, headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status_code == 401
    response = post_update(writable, insert, headers={"Authorization": "Bearer not-the-token"})
    assert response.status_code == 403
    assert "not this service's write token" in response.text
    assert not has_graph(writable, f"{EX}unauthorised")


def test_an_update_is_sent_form_encoded_or_directly(writable: Client) -> None:
    form = writable.post(
        writable.url + "/update",
        data={"update": f"INSERT DATA {{ GRAPH <{EX}form> {{ <{EX}s> <{EX}p> 'form' }} }}"},
        headers=AUTH,
        timeout=60,
    )
    applied(form)
    applied(post_update(writable, f"INSERT DATA {{ GRAPH <{EX}direct> {{ <{EX}s> <{EX}p> 'direct' }} }}"))
    assert ask(writable, f"ASK {{ GRAPH <{EX}form> {{ <{EX}s> <{EX}p> 'form' }} }}")
    assert ask(writable, f"ASK {{ GRAPH <{EX}direct> {{ <{EX}s> <{EX}p> 'direct' }} }}")


BAD = f"INSERT DATA {{ GRAPH <{EX}bad> {{ <{EX}s> <{EX}p> 1 }} }}"


DIRECT = "application/sparql-update"
Form = dict[str, str | list[str]]


@pytest.mark.parametrize(
    ("method", "body", "content_type", "status", "says"),
    [
        ("GET", None, None, 405, "GET is not allowed on /update"),
        ("POST", {"update": [BAD, BAD]}, None, 400, "carries 2 updates"),
        ("POST", BAD.encode(), "text/plain", 415, "'text/plain'"),
        ("POST", BAD.encode(), None, 415, "no Content-Type"),
        ("POST", BAD.encode("utf-16"), f"{DIRECT}; charset=UTF-16", 415, "must be UTF-8"),
        ("POST", BAD.encode()[:-5] + b"\xff } }", DIRECT, 400, "not valid UTF-8"),
        ("POST", {"update": BAD + " ; CLEAR XYZ"}, None, 400, "not valid SPARQL 1.1 Update: error at 1:"),
        ("POST", {"query": "ASK {}"}, None, 400, "send queries (the 'query' parameter) to /sparql"),
        ("POST", {"using-graph-uri": EX}, None, 400, "Missing the 'update' parameter"),
        (
            "POST",
            {"update": f"WITH <{EX}w> INSERT {{ ?s ?p 2 }} WHERE {{ ?s ?p 1 }}", "using-graph-uri": EX},
            None,
            400,
            "use one or the other",
        ),
        (
            "POST",
            {"update": f"INSERT {{ ?s ?p 2 }} USING <{EX}u> WHERE {{ ?s ?p 1 }}", "using-named-graph-uri": EX},
            None,
            400,
            "use one or the other",
        ),
        ("POST", {"update": BAD, "using-graph-uri": "not an iri"}, None, 400, "'using-graph-uri' parameter"),
    ],
)
def test_a_bad_request_is_refused_with_a_message_and_changes_nothing(
    writable: Client, method: str, body: Form | bytes | None, content_type: str | None, status: int, says: str
) -> None:
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    params = {"update": BAD} if method == "GET" else None
    response = writable.request(method, writable.url + "/update", params=params, data=body, headers=headers, timeout=60)
    assert response.status_code == status, response.text
    assert says in response.text
    assert not has_graph(writable, f"{EX}bad")


def test_an_update_that_fails_part_way_applies_nothing(writable: Client) -> None:
    applied(post_update(writable, f"CREATE SILENT GRAPH <{EX}existing>"))
    response = post_update(
        writable, f"INSERT DATA {{ GRAPH <{EX}half> {{ <{EX}s> <{EX}p> 1 }} }} ; CREATE GRAPH <{EX}existing>"
    )
    assert response.status_code == 400
    assert "could not be applied, so none of it was" in response.text
    assert f"<{EX}existing> already exists" in response.text
    assert not has_graph(writable, f"{EX}half")


def test_the_protocol_dataset_is_the_dataset_of_the_where_clause(writable: Client) -> None:
    data = {n: f"{EX}data{n}" for n in (1, 2, 3)}
    docs = " ".join(f"GRAPH <{g}> {{ <{g}> a {FOAF_DOCUMENT} }}" for g in data.values())
    applied(post_update(writable, f"DROP ALL ; INSERT DATA {{ {docs} }}"))

    # using-graph-uri: the WHERE clause's default graph is the merge of those graphs.
    applied(
        post_update(
            writable,
            f"INSERT {{ GRAPH <{EX}out1> {{ ?s a <{EX}Found> }} }} WHERE {{ ?s a {FOAF_DOCUMENT} }}",
            params={"using-graph-uri": [data[1], data[2]]},
        )
    )
    found = f"SELECT ?s WHERE {{ GRAPH <{EX}out1> {{ ?s a <{EX}Found> }} }}"
    rows = writable.get(writable.url + "/sparql", params={"query": found}, timeout=60).json()["results"]["bindings"]
    assert {row["s"]["value"] for row in rows} == {data[1], data[2]}

    # using-named-graph-uri: only those graphs are seen by GRAPH ?g.
    applied(
        post_update(
            writable,
            f"INSERT {{ GRAPH <{EX}out2> {{ ?s <{EX}in> ?g }} }} WHERE {{ GRAPH ?g {{ ?s a {FOAF_DOCUMENT} }} }}",
            params={"using-named-graph-uri": data[2]},
        )
    )
    assert ask(writable, f"ASK {{ GRAPH <{EX}out2> {{ <{data[2]}> <{EX}in> <{data[2]}> }} }}")
    assert not ask(writable, f"ASK {{ GRAPH <{EX}out2> {{ <{data[1]}> ?p ?o }} }}")

    # DELETE WHERE takes the protocol dataset too: it matches in data1 only, and deletes from the default graph.
    applied(post_update(writable, f"INSERT DATA {{ <{data[1]}> a {FOAF_DOCUMENT} . <{data[3]}> a {FOAF_DOCUMENT} }}"))
    applied(post_update(writable, f"DELETE WHERE {{ ?s a {FOAF_DOCUMENT} }}", params={"using-graph-uri": data[1]}))
    default_graph = writable.get(
        writable.url + "/store", params={"default": ""}, headers={"Accept": "application/n-triples"}, timeout=60
    ).text
    assert f"<{data[3]}>" in default_graph
    assert f"<{data[1]}>" not in default_graph
    assert ask(writable, f"ASK {{ GRAPH <{data[1]}> {{ <{data[1]}> a {FOAF_DOCUMENT} }} }}")


def test_relative_iris_resolve_against_the_update_endpoint(writable: Client) -> None:
    applied(post_update(writable, f"INSERT DATA {{ GRAPH <{EX}base> {{ <{EX}s> <{EX}p> <relative> }} }}"))
    query = f"SELECT ?o WHERE {{ GRAPH <{EX}base> {{ <{EX}s> <{EX}p> ?o }} }}"
    rows = writable.get(writable.url + "/sparql", params={"query": query}, timeout=60).json()["results"]["bindings"]
    assert [row["o"] for row in rows] == [{"type": "uri", "value": writable.url + "/relative"}]
