"""The load test (bench/load_test.py) against a live service with two HTTP worker processes: no request fails.

Latencies are reported, never asserted (they belong to bench/); what must hold is zero errors while 16
clients mix saved queries, /sparql and resource pages for a minute.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, Server, start_samverkan


@pytest.fixture(scope="module")
def production_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_samverkan(tmp_path_factory.mktemp("load"), "--workers", "2")
    yield server
    server.stop()


@pytest.mark.slow  # a minute long: .ci/run runs it, scripts/test (the everyday run) leaves it out
def test_sixteen_clients_for_a_minute_get_no_errors(production_server: Server, tmp_path: Path) -> None:
    script = [sys.executable, str(ROOT / "bench" / "load_test.py"), "--url", production_server.url]
    done = subprocess.run(
        [*script, "--clients", "16", "--seconds", "60", "--out", str(tmp_path)], capture_output=True, text=True
    )
    print(done.stdout)  # the table, for the log
    (result_file,) = tmp_path.glob("load-*.json")
    result = json.loads(result_file.read_text())
    assert result["all"]["errors"] == 0, result["all"]["error_examples"]
    assert done.returncode == 0, done.stderr
    assert set(result["by_kind"]) == {"saved query", "sparql", "page"}
    assert all(kind["requests"] > 0 for kind in result["by_kind"].values())
