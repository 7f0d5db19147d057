"""Our codebook over HTTP (`GET /api/codebook.qdc`), and the coverage line under every comparison: what each
study's counts rest on. In-process, on the shipped data (the fictional examples, one of them a REFI-QDA project
with a crosswalk)."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
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


# --- What a comparison rests on -----------------------------------------------------------------------------------

EXAMPLE = ROOT / "data" / "examples" / "fiktiv-intervjuer-omsorg-2023"
SHEET_STUDY = "fiktiv-fokusgrupper-2011"
DIMENSION_OF = {"samverkansform": "form", "mal": "goal", "styrmedel": "tool", "sakomrade": "topic"}
PREFIX_DIMENSION = {"form": "form", "goal": "goal", "topic": "topic"}


def expected_coverage(dimension: str) -> tuple[dict[str, int], dict[str, int]]:
    """Worked out from the example's project.yaml and crosswalk: per basis, the observations counted; and the own
    codes that map to nothing, with their observations."""
    spec = yaml.safe_load((EXAMPLE / "project" / "project.yaml").read_text(encoding="utf-8"))
    lines = (EXAMPLE / "kodbok.sssom.tsv").read_text(encoding="utf-8").splitlines()
    table = list(csv.DictReader([line for line in lines if not line.startswith("#")], delimiter="\t"))
    mapped = {
        row["subject_label"]: (
            row["predicate_id"].removeprefix("skos:"),
            PREFIX_DIMENSION[row["object_id"].split(":")[0]],
        )
        for row in table
    }
    own = {name for group in spec["own_codes"].values() for name in group} | set(spec["own_codes"])
    counts: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    for selection in spec["selections"]:
        bases = {"direct" for c in selection["codes"] if DIMENSION_OF.get(c.split("/")[0]) == dimension}
        bases |= {mapped[c][0] for c in selection["codes"] if c in mapped and mapped[c][1] == dimension}
        if not bases & {"direct", "exactMatch", "closeMatch", "broadMatch"}:
            bases.add("none")
        counts.update(bases)
        unmapped.update(c for c in selection["codes"] if c in own and c not in mapped)
    return dict(counts), dict(unmapped)


@pytest.mark.parametrize("dimension", ["form", "goal"])
def test_the_comparison_says_what_each_study_rests_on(client: FlaskClient, dimension: str) -> None:
    study = EXAMPLE.name
    twin = client.get(f"/compare?study={SHEET_STUDY}&study={study}&dimension={dimension}&format=json").get_json()
    coverage = {s["id"]: s for s in twin["coverage"]["studies"]}
    assert list(coverage) == [SHEET_STUDY, study]
    assert twin["coverage"]["counted"] == ["direct", "exactMatch", "closeMatch", "broadMatch"]
    counts, unmapped = expected_coverage(dimension)
    [line] = coverage[study]["dimensions"]
    assert line["dimension"] == dimension
    assert {basis: n for basis, n in line["counts"].items() if n} == counts
    assert {code["label"]: code["observations"] for code in coverage[study]["unmapped"]} == unmapped
    assert all(
        code["iri"].startswith(f"https://w3id.org/samverkan/id/concept/study/{study}/")
        for code in coverage[study]["unmapped"]
    )
    # The coding-sheet study counts only directly or not at all.
    [sheet] = coverage[SHEET_STUDY]["dimensions"]
    assert set(basis for basis, n in sheet["counts"].items() if n) <= {"direct", "none"}
    assert coverage[SHEET_STUDY]["unmapped"] == []


def test_the_coverage_line_is_on_the_page_in_each_language(client: FlaskClient) -> None:
    url = f"/compare?study={SHEET_STUDY}&study={EXAMPLE.name}&study=samverkan-som-strategi&dimension=sector"
    swedish = client.get(url + "&lang=sv").get_data(as_text=True)
    assert "Vad jämförelsen vilar på" in swedish and "exakt matchning" in swedish and "Tillit</a> (1)" in swedish
    assert "smalare matchning" in swedish and "visas, räknas inte" in swedish
    assert "inga kodade observationer" in swedish  # the seed study describes its case directly
    english = client.get(url + "&lang=en").get_data(as_text=True)
    assert "What the comparison rests on" in english and "close match" in english
    twin = client.get(url + "&format=json").get_json()
    assert [line["dimension"] for line in twin["coverage"]["studies"][1]["dimensions"]] == [
        "form",
        "goal",
        "tool",
        "topic",
    ]
