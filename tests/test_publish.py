"""Releases and cited results over HTTP, in-process (Flask's test client) on real on-disk stores: the
Samverkan-Release header, cite-as links, cite URLs and their RO-Crates, /api/compare and /api/releases."""

from __future__ import annotations

import hashlib
import html
import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from conftest import ROOT, Server
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.config import Config
from service.executor import WorkerPoolExecutor
from service.http import create_app
from service.http.context import EXTENSION
from service.ingest.shipped import BuildCache, shipped_sources, sync
from service.runtime import Services
from service.store import EmbeddedStore

TOKEN = "publish-test-token"
COMPARE = "compare-studies-side-by-side"
STUDIES = ("fiktiv-fokusgrupper-2011", "fiktiv-krisberedskap-2021")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the ontology, vocabularies, reference lists and the seed study (no example studies)."""
    path = tmp_path_factory.mktemp("seeded") / "store"
    sync(EmbeddedStore(str(path)), shipped_sources(ROOT, examples=False), BuildCache(ROOT / ".cache" / "builds"))
    return path


def load_examples(services: Services) -> None:
    assert isinstance(services.store, EmbeddedStore)
    sync(services.store, shipped_sources(ROOT, examples=True), BuildCache(ROOT / ".cache" / "builds"))


def serving(config: Config) -> Iterator[Flask]:
    app = create_app(config)
    yield app
    executor = app.extensions[EXTENSION].executor
    if isinstance(executor, WorkerPoolExecutor):
        executor.close()


@pytest.fixture
def app(seeded: Path, tmp_path: Path) -> Iterator[Flask]:
    shutil.copytree(seeded, tmp_path / "store")
    yield from serving(
        Config(
            store_path=str(tmp_path / "store"),
            load_shipped_data=False,
            query_workers=1,
            update_token=TOKEN,
            user_queries_dir=tmp_path / "user-queries",
        )
    )


def services_of(app: Flask) -> Services:
    return app.extensions[EXTENSION]  # type: ignore[no-any-return]


def cite_link(response: TestResponse) -> str | None:
    """The cite-as target among the response's Link headers (paging links may stand beside it)."""
    for part in response.headers.get("Link", "").split(","):
        if 'rel="cite-as"' in part:
            return part.split(";")[0].strip().strip("<>")
    return None


def local(url: str) -> str:
    """The test client's path and query string of an absolute URL of the service."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def save(client: FlaskClient, text: str) -> TestResponse:
    return client.post(
        "/api/queries",
        data=text.encode("utf-8"),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-query"},
    )


def test_a_cited_result_keeps_its_rows_through_new_data_and_a_new_query_version(app: Flask) -> None:
    client = app.test_client()
    services = services_of(app)
    curated = (ROOT / "queries" / f"{COMPARE}.rq").read_text(encoding="utf-8")
    assert save(client, curated.replace(f"#+ name: {COMPARE}", "#+ name: my-comparison")).status_code == 201
    run = "/api/queries/my-comparison?dimension=goal"

    before = client.get(run)
    assert before.headers["Samverkan-Release"] == "none" and cite_link(before) is None
    assert "Samverkan-Release" in before.headers["Access-Control-Expose-Headers"]
    assert services.releases is not None
    release, _ = services.releases.make(services.store, "seed study only")

    answered = client.get(run, headers={"Accept": "text/csv"})
    assert answered.headers["Samverkan-Release"] == release.id
    url = cite_link(answered)
    assert url is not None and url.startswith(f"http://localhost/cite/{release.id}/my-comparison/v1?dimension=goal")
    assert client.get("/sparql", query_string={"query": "ASK {}"}).headers["Samverkan-Release"] == release.id
    assert cite_link(client.get("/sparql", query_string={"query": "SELECT * {} LIMIT 1"})) is None  # ad hoc

    cited = client.get(local(url), headers={"Accept": "text/csv"})
    assert cited.status_code == 200 and cited.mimetype == "text/csv"
    assert cited.data == answered.data  # the data equals the release: the same rows
    assert cite_link(cited) == url and cited.headers["Samverkan-Release"] == release.id
    twin = strict_json(client.get(local(url) + "&format=json").get_data(as_text=True))
    assert twin["release"]["id"] == release.id and twin["release"]["note"] == "seed study only"
    assert twin["rows"] == len(cited.data.decode().splitlines()) - 1
    assert f"url = {{{url}}}" in twin["citation"]["bibtex"] and twin["citation"]["csl"]["URL"] == url
    page = client.get(local(url) + "&lang=en", headers={"Accept": "text/html"})
    assert twin["result_sha256"] in page.get_data(as_text=True) and "canonical form" in page.get_data(as_text=True)

    load_examples(services)  # another study, and a new version of the cited query
    newer = save(client, curated.replace(f"#+ name: {COMPARE}", "#+ name: my-comparison") + "LIMIT 3\n")
    assert newer.headers["Samverkan-Query-Version"] == "2"
    now = client.get(run, headers={"Accept": "text/csv"})
    assert now.headers["Samverkan-Release"] == f"changed-since {release.id}" and cite_link(now) is None
    assert now.headers["Samverkan-Query-Version"] == "2" and now.data != answered.data

    again = client.get(local(url), headers={"Accept": "text/csv"})
    assert again.data == cited.data
    assert strict_json(client.get(local(url) + "&format=json").data)["result_sha256"] == (twin["result_sha256"])
    crate = client.get(local(url).replace("/v1?", "/v1/ro-crate.zip?"))
    assert crate.status_code == 200 and crate.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(crate.data)) as opened:
        assert hashlib.sha256(opened.read("result-canonical.tsv")).hexdigest() == twin["result_sha256"]

    frozen = client.get(
        f"/releases/{release.id}/sparql",
        query_string={"query": f"ASK {{ <https://w3id.org/samverkan/id/study/{STUDIES[0]}> ?p ?o }}"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert frozen.status_code == 200 and frozen.json == {"head": {}, "boolean": False}
    assert frozen.headers["Samverkan-Release"] == release.id
    assert client.get("/releases/2020-01-01-00000000/sparql?query=ASK{}").status_code == 404

    services.releases.delete(release.id)
    for gone in (local(url), local(url).replace("/v1?", "/v1/ro-crate.zip?")):
        answer = client.get(gone)
        assert answer.status_code == 410 and release.id in answer.get_data(as_text=True)
        assert "seed study only" in answer.get_data(as_text=True)


def test_the_cite_url_is_canonical_and_its_rows_are_checked(app: Flask) -> None:
    client = app.test_client()
    services = services_of(app)
    assert services.releases is not None and services.citations is not None
    release, _ = services.releases.make(services.store)
    seed = "samverkan-som-strategi"
    answered = client.get(f"/api/queries/{COMPARE}", query_string={"study": seed, "dimension": "tool"})
    url = cite_link(answered)
    assert url is not None
    canonical = local(url)
    assert canonical == (
        f"/cite/{release.id}/{COMPARE}/v1?dimension=tool&language=sv&study=https://w3id.org/samverkan/id/study/{seed}"
    )

    shuffled = canonical.split("?")[0] + "?" + urlencode([("study", seed), ("dimension", "tool"), ("lang", "en")])
    moved = client.get(shuffled)
    assert moved.status_code == 301
    assert local(moved.headers["Location"]) == canonical + "&lang=en"
    reordered = canonical.split("?")[0] + "?" + urlencode(parse_qsl(urlsplit(canonical).query)[::-1])
    assert client.get(reordered).status_code == 301
    assert client.get(canonical.replace("/v1?", "/v1/ro-crate.zip?").replace("language=sv&", "")).status_code == 301
    assert client.get(canonical + "&dimension=nonsense").status_code == 400
    assert client.get(canonical.replace("/v1?", "/v9?")).status_code == 404

    assert client.get(canonical, headers={"Accept": "text/csv"}).status_code == 200  # the hash is recorded
    files = list(services.citations.root.glob("*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text(encoding="utf-8"))
    data["result_sha256"] = "0" * 64
    files[0].write_text(json.dumps(data), encoding="utf-8")
    tampered = client.get(canonical, headers={"Accept": "text/csv"})
    assert tampered.status_code == 500
    assert "do not match the cited ones" in tampered.get_data(as_text=True) and "0" * 64 in tampered.get_data(
        as_text=True
    )


def test_compare_gives_shares_intervals_and_tests_and_is_citable_on_a_release(app: Flask) -> None:
    client = app.test_client()
    services = services_of(app)
    load_examples(services)
    params = [("study", s) for s in STUDIES] + [("dimension", "sector"), ("language", "en")]
    unreleased = client.get("/api/compare", query_string=params)
    assert unreleased.status_code == 200 and unreleased.headers["Samverkan-Release"] == "none"
    body = strict_json(unreleased.get_data(as_text=True))
    assert body["release"] == {"id": None, "current": False, "note": None, "created": None} and body["cite"] is None
    assert [s["id"] for s in body["studies"]] == list(STUDIES) and "independent" in body["note"]
    for row in body["rows"]:
        for cell, study in zip(row["cells"], body["studies"], strict=True):
            assert cell["total"] == study["total"] and cell["share"] == pytest.approx(cell["count"] / cell["total"])
            assert 0 <= cell["ci_low"] <= cell["share"] <= cell["ci_high"] <= 1
        assert row["test"] in ("chi-square", "fisher") or row["untested"]
        if row["test"]:
            assert 0 <= row["p_value"] <= row["p_adjusted"] <= 1 and 0 <= row["cramers_v"] <= 1

    table = client.get("/api/compare", query_string=[*params, ("format", "csv")])
    header = table.get_data(as_text=True).splitlines()[0].split(",")
    assert f"{STUDIES[0]} ci_low" in header and "p_adjusted" in header and "cramers_v" in header
    twin = client.get("/compare", query_string=[*params[:-1], ("lang", "en"), ("format", "json")]).json
    assert twin is not None and twin["comparison"]["rows"] == body["rows"]

    assert services.releases is not None
    release, _ = services.releases.make(services.store, "two fictional studies")
    released = client.get("/api/compare", query_string=params)
    body = strict_json(released.get_data(as_text=True))
    assert body["release"]["id"] == release.id and body["release"]["current"]
    assert body["cite"] == cite_link(released) and body["cite"].startswith(
        f"http://localhost/cite/{release.id}/{COMPARE}/"
    )
    cited = client.get(local(body["cite"]), headers={"Accept": "text/csv"})
    assert cited.status_code == 200 and len(cited.data.decode().splitlines()) > 1
    page = client.get("/compare", query_string=[*params[:-1], ("lang", "en")]).get_data(as_text=True)
    assert f'data-cite="{html.escape(body["cite"])}"' in page and f'data-release="{release.id}"' in page

    listed = client.get("/api/releases").json
    assert listed is not None and listed["available"] and listed["status"]["id"] == release.id
    assert [r["id"] for r in listed["releases"]] == [release.id]
    assert listed["releases"][0]["sparql"] == f"http://localhost/releases/{release.id}/sparql"

    for bad in ([("study", STUDIES[0])], [*params[:2], ("dimension", "colour")], [*params[:2], ("language", "fi")]):
        refused = client.get("/api/compare", query_string=bad)
        assert refused.status_code == 400 and refused.json is not None and refused.json["message"]


def test_a_remote_store_has_no_releases(oxigraph_server: Server, tmp_path: Path) -> None:
    config = Config(
        query_url=oxigraph_server.url + "/query",
        load_shipped_data=False,
        user_queries_dir=tmp_path / "user-queries",
    )
    for app in serving(config):
        client = app.test_client()
        listed = client.get("/api/releases").json
        assert listed == {"available": False, "status": None, "releases": []}
        answered = client.get("/sparql", query_string={"query": "ASK {}"})
        assert answered.status_code == 200 and answered.headers["Samverkan-Release"] == "none"
        missing = client.get("/cite/2026-01-01-abcdef12/x/v1")
        assert missing.status_code == 404 and "releases" in missing.get_data(as_text=True)
