"""Fuzzing the saved-query API with schemathesis, driven by our own /api/openapi.json: no 5xx, and every
response (status, content type, headers, body) as the document describes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Client

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.mark.slow  # some 4,000 generated requests, minutes of schemathesis' own work: .ci/run runs it
def test_the_api_holds_to_its_openapi_document(client: Client, tmp_path: Path) -> None:
    binary = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [str(binary), "run", client.url + "/api/openapi.json", "--checks", CHECKS, "--max-examples", "10"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=1200,
    )
    summary = result.stdout[-4000:]
    print(summary)
    assert result.returncode == 0, summary
