"""The OpenAPI document generated from the catalogue, and the interactive API page that shows it offline."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from conftest import Client
from openapi_spec_validator import validate


def document(server: Client) -> dict[str, Any]:
    response = server.get(server.url + "/api/openapi.json", timeout=30)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def parameters(doc: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in doc["paths"][f"/api/queries/{name}"]["get"]["parameters"]}


def test_the_document_is_valid_openapi(client: Client) -> None:
    doc = document(client)
    validate(doc)
    assert doc["openapi"].startswith("3.")
    assert doc["servers"] == [{"url": client.url}]


def test_one_operation_per_saved_query(client: Client) -> None:
    doc = document(client)
    catalogue = client.get(client.url + "/api/queries", timeout=30).json()["queries"]
    operations = {
        path.removeprefix("/api/queries/"): item["get"]
        for path, item in doc["paths"].items()
        if path.startswith("/api/queries/") and "{" not in path
    }
    assert set(operations) == {q["name"] for q in catalogue}
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for query in catalogue:
        operation = operations[query["name"]]
        assert operation["summary"] == query["title"]["en"]
        declared = {p["name"] for p in query["parameters"]}
        assert declared <= set(parameters(doc, query["name"]))
        assert {"format", "timeout", "version"} <= set(parameters(doc, query["name"]))


def test_parameters_are_typed(client: Client) -> None:
    doc = document(client)
    profile = parameters(doc, "municipality-profile")["kommun"]
    assert profile["required"] is True
    assert profile["schema"]["pattern"] == r"^(\d{4}|.*\D.*)$"
    find = parameters(doc, "find-collaborations")
    assert find["kommun"]["schema"]["type"] == "array" and find["kommun"]["explode"] is True
    assert find["kommun"]["schema"]["items"]["pattern"] == r"^(\d{4}|.*\D.*)$"
    assert find["lan"]["schema"]["items"]["pattern"] == r"^(\d{2}|.*\D.*)$"
    assert find["from"]["schema"] == {"type": "string", "pattern": r"^\d{4}$", "examples": ["2011"]}
    assert "scheme samverkansform" in find["form"]["description"]
    compare = parameters(doc, "compare-studies")
    assert compare["dimension"]["schema"]["enum"] == ["form", "goal", "tool", "topic", "sector"]
    assert compare["dimension"]["schema"]["default"] == "form"
    actors = parameters(doc, "actors-in-several-studies")
    assert actors["minStudies"]["schema"] == {"type": "integer", "default": 2}
    assert actors["includeMunicipalities"]["schema"] == {"type": "boolean", "default": True}
    assert parameters(doc, "municipalities")["limit"]["schema"]["minimum"] == 1


def test_formats_follow_the_query_form(client: Client) -> None:
    doc = document(client)
    select = doc["paths"]["/api/queries/studies"]["get"]["responses"]["200"]["content"]
    assert set(select) == {
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
    }
    graph = doc["paths"]["/api/queries/municipality-graph"]["get"]
    assert "text/turtle" in graph["responses"]["200"]["content"]
    assert parameters(doc, "municipality-graph")["format"]["schema"]["enum"][0] == "turtle"


def test_the_api_page_and_its_assets_are_served_from_here(client: Client) -> None:
    page = client.get(client.url + "/api/docs", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js"):
        response = client.get(f"{client.url}/api/docs/{asset}", timeout=30)
        assert response.status_code == 200 and len(response.content) > 10_000
    assert client.get(client.url + "/api/docs/package.json", timeout=30).status_code == 404


def test_the_api_page_works_with_no_network(client: Client) -> None:
    """Headless Chromium opens the page; every request it makes goes to our server, and every query is listed."""
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.goto(client.url + "/api/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
        finally:
            browser.close()
    catalogue = client.get(client.url + "/api/queries", timeout=30).json()["queries"]
    assert {f"/api/queries/{q['name']}" for q in catalogue} <= {p.replace("\u200b", "") for p in paths}
    assert requested and {urlparse(url).netloc for url in requested} == {urlparse(client.url).netloc}
