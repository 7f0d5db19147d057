"""Our codebook over HTTP (`GET /api/codebook.qdc`), and the coverage line under every comparison: what each
study's counts rest on. In-process, on the shipped data (the fictional examples, one of them a REFI-QDA project
with a crosswalk)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from service.config import Config
from service.http import create_app
from service.ingest.schema import Schema

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK_NS = {"c": "urn:QDA-XML:codebook:1.0"}


@pytest.fixture(scope="module")
def shipped_app() -> Iterator[Flask]:
    """The service on the shipped data, in this process (the studies come from the build cache)."""
    yield create_app(Config(query_workers=1))


@pytest.fixture
def client(shipped_app: Flask) -> FlaskClient:
    return shipped_app.test_client()


# --- Our codebook ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "forms"), [("sv", "samverkansformer"), ("en", "forms of collaboration")])
def test_the_codebook_downloads_in_each_language(client: FlaskClient, language: str, forms: str) -> None:
    response = client.get("/api/codebook.qdc", query_string={"language": language})
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == f"attachment; filename=samverkan-codebook-{language}.qdc"
    assert response.data == Schema(ROOT).codebook.qdc(language)
    first = ET.fromstring(response.data).find("c:Codes/c:Code", CODEBOOK_NS)
    assert first is not None and first.get("name") == forms


def test_the_codebook_is_swedish_unless_asked_and_refuses_other_languages(client: FlaskClient) -> None:
    assert client.get("/api/codebook.qdc").headers["Content-Disposition"].endswith("samverkan-codebook-sv.qdc")
    response = client.get("/api/codebook.qdc?language=de")
    assert response.status_code == 400
    assert "'de' is not one of the allowed values: sv, en" in response.get_json()["message"]


def test_the_codebook_is_in_the_api_document_and_linked_from_the_gallery(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").get_json()
    validate(document)
    operation = document["paths"]["/api/codebook.qdc"]["get"]
    assert operation["parameters"][0]["schema"]["enum"] == ["sv", "en"]
    assert "application/xml" in operation["responses"]["200"]["content"]
    for language in ("sv", "en"):
        twin = client.get(f"/queries?format=json&lang={language}").get_json()
        assert twin["codebook"] == f"/api/codebook.qdc?language={language}"
        page = client.get(f"/queries?lang={language}").get_data(as_text=True)
        assert f'href="/api/codebook.qdc?language={language}"' in page
    assert "Ladda ner kodboken" in client.get("/queries?lang=sv").get_data(as_text=True)
