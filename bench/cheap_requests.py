"""Cheap requests side by side: a warm saved query with parameters, a `/sparql` cache hit, an uncached lookup,
and the same lookup on Oxigraph's server, all on the shipped data (issue 13, items 3 and 4).

    python bench/cheap_requests.py                               # this checkout against Oxigraph's server
    git worktree add --detach /tmp/before COMMIT
    python bench/cheap_requests.py --before /tmp/before          # and an older commit beside it
    python bench/cheap_requests.py --floors                      # and the least a lookup costs in our stack

Builds a store from the shipped data (ontology/, data/, the example studies), exports it as N-Quads for
`oxigraph load`, and starts every server at once: ours as it ships and with `--result-cache-mb 0`
(`samverkan serve --workers 1`), the same two from the `--before` checkout, and `oxigraph serve
--union-default-graph`; with `--floors`, also bench/floor_app.py's bare Flask routes under the same gunicorn
settings, one running the lookup in a query worker process as the service does (`floor-hop`), one in the request
thread (`floor-inline`). Then it sends the requests round-robin, one at a time, each server on its own
kept-alive connection: round after round, every (server, request) pair once. A busy machine therefore slows
every column alike, and the ratios are what to read; the medians are reported with the load average.
Results go to bench/results/cheap-requests-*.json and *.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.peers import BIN, free_port, machine, running  # noqa: E402

RESULTS = ROOT / "bench" / "results"
JSON_RESULTS = "application/sparql-results+json"
LOOKUP = (ROOT / "bench" / "queries" / "lookup.rq").read_text(encoding="utf-8")
SAVED = {  # name: (saved query, parameters)
    "find-collaborations (kommun, study)": (
        "find-collaborations",
        {"kommun": "1980", "study": "fiktiv-fokusgrupper-2011"},
    ),
    "municipality-profile (kommun=Västerås)": ("municipality-profile", {"kommun": "Västerås"}),
}


@dataclass(frozen=True)
class Case:
    name: str
    server: str  # which server answers it
    method: str
    path: str
    params: dict[str, str]


def cases(servers: list[str]) -> list[Case]:
    """What each server is asked: ours (cached) the saved queries and a cache hit, the uncached ones the lookup."""
    found = []
    for server in servers:
        if server == "oxigraph":
            found.append(Case("lookup, uncached", server, "POST", "/query", {"query": LOOKUP}))
        elif server.endswith("nocache") or server.startswith("floor"):
            found.append(Case("lookup, uncached", server, "POST", "/sparql", {"query": LOOKUP}))
        else:
            found.append(Case("lookup, cache hit", server, "POST", "/sparql", {"query": LOOKUP}))
            found += [Case(name, server, "GET", f"/api/queries/{q}", p) for name, (q, p) in SAVED.items()]
    return found


def build(work: Path) -> tuple[Path, Path]:
    """Our store with the shipped data (built by this checkout) and Oxigraph's store of the same quads."""
    store, quads, oxigraph = work / "store", work / "all.nq", work / "oxigraph"
    load = "from service.config import Config; from service.runtime import load_shipped_data, open_store; "
    load += f"c = Config(store_path={str(store)!r}); load_shipped_data(c, open_store(c))"
    subprocess.run([sys.executable, "-c", load], check=True, cwd=ROOT)
    export = [str(BIN / "samverkan"), "export", "--store", str(store), "--format", "nquads", "-o", str(quads)]
    subprocess.run(export, check=True, cwd=ROOT)
    subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(oxigraph), "--file", str(quads)], check=True)
    return store, oxigraph


def samverkan(code: Path, store: Path, port: int, extra: list[str]) -> tuple[list[str], dict[str, str]]:
    """`samverkan serve` of the checkout at `code` (its own `service` package: -P keeps the working folder off
    the path, PYTHONPATH puts the checkout first)."""
    args = [sys.executable, "-P", "-c", "from service.cli import main; main()", "serve", "--store", str(store)]
    args += ["--no-shipped-data", "--port", str(port), "--workers", "1", "--query-workers", "2", *extra]
    return args, {**os.environ, "PYTHONPATH": str(code)}


def measure(bases: dict[str, str], rounds: int) -> dict[str, dict[str, Any]]:
    """Every case once per round, `rounds` times; the first two rounds warm up (and fill the caches).

    Each round takes the cases in a new order (seeded): a request's latency depends on what ran just before it
    (a server that has been idle wakes up slower), and a fixed order would give one server that handicap in
    every round (measured: the same server read 1.99x or 2.55x Oxigraph's lookup by its place in the round).
    """
    todo = cases(list(bases))
    order = random.Random(1)
    sessions = {server: requests.Session() for server in bases}
    times: dict[tuple[str, str], list[float]] = {(c.server, c.name): [] for c in todo}
    for number in range(rounds + 2):
        order.shuffle(todo)
        for case in todo:
            url = bases[case.server] + case.path
            headers = {"Accept": JSON_RESULTS}
            start = time.perf_counter()
            if case.method == "GET":
                response = sessions[case.server].get(url, params=case.params, headers=headers, timeout=60)
            else:
                response = sessions[case.server].post(url, data=case.params, headers=headers, timeout=60)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"{case.server} {case.name}: {response.status_code} {response.text[:300]}")
            if number >= 2:
                times[(case.server, case.name)].append(elapsed)
    results: dict[str, dict[str, Any]] = {}
    for (server, name), latencies in times.items():
        ordered = sorted(latencies)
        results.setdefault(server, {})[name] = {
            "requests": len(ordered),
            "p50_ms": round(1000 * statistics.median(ordered), 3),
            "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 3),
        }
    return results


def report(run: dict[str, Any]) -> str:
    info, results = run["machine"], run["results"]
    lines = [
        f"# Cheap requests, {info['date']}",
        "",
        f"{info['cpu']}, {info['cores']} cores; Python {info['python']}, {info['oxigraph_server']}. "
        f"Load average at the start: {info['load_average_at_start']}. {run['rounds']} rounds.",
        f"Command: `{run['command']}`",
        "",
        "| server | request | p50 ms | p95 ms | p50 ÷ reference |",
        "|---|---|---|---|---|",
    ]
    for server, found in results.items():
        prefix = server.removesuffix("-nocache")
        for name, entry in found.items():
            reference = (
                results["oxigraph"]["lookup, uncached"]
                if name == "lookup, uncached"
                else results[prefix]["lookup, cache hit"]
            )
            shown = "Oxigraph's lookup" if name == "lookup, uncached" else "its own cache hit"
            ratio = "" if entry is reference else f"{entry['p50_ms'] / reference['p50_ms']:.2f}x {shown}"
            lines.append(f"| {server} | {name} | {entry['p50_ms']} | {entry['p95_ms']} | {ratio} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="a checkout of another commit, served beside this one")
    parser.add_argument(
        "--floors",
        action="store_true",
        help="also serve bench/floor_app.py's bare routes (the query in a worker process, and in the request thread)",
    )
    parser.add_argument("--rounds", type=int, default=300, help="requests per (server, request) [300]")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    codes = {"ours": ROOT} | ({"before": args.before.resolve()} if args.before else {})
    with tempfile.TemporaryDirectory(prefix="cheap-requests-") as folder, ExitStack() as stack:
        work = Path(folder)
        store, oxigraph = build(work)
        info = machine()
        bases: dict[str, str] = {}
        for label, code in codes.items():
            for server, extra in ((label, []), (f"{label}-nocache", ["--result-cache-mb", "0"])):
                port = free_port()
                command, env = samverkan(code, store, port, extra)
                stack.enter_context(running(command, f"http://127.0.0.1:{port}/health", work / f"{server}.log", env))
                bases[server] = f"http://127.0.0.1:{port}"
        for kind in ("hop", "inline") if args.floors else ():
            port = free_port()
            floor = [sys.executable, str(ROOT / "bench" / "floor_app.py"), kind, str(store), str(port)]
            stack.enter_context(running(floor, f"http://127.0.0.1:{port}/health", work / f"floor-{kind}.log"))
            bases[f"floor-{kind}"] = f"http://127.0.0.1:{port}"
        port = free_port()
        serve = [str(BIN / "oxigraph"), "serve", "--location", str(oxigraph), "--bind", f"127.0.0.1:{port}"]
        stack.enter_context(
            running(
                [*serve, "--union-default-graph"], f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", work / "ox.log"
            )
        )
        bases["oxigraph"] = f"http://127.0.0.1:{port}"
        run = {
            "machine": info,
            "command": " ".join(["python bench/cheap_requests.py", *sys.argv[1:]]),
            "rounds": args.rounds,
            "results": measure(bases, args.rounds),
        }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"cheap-requests-{datetime.now(UTC).strftime('%Y%m%d-%H%M')}"
    stem.with_suffix(".json").write_text(json.dumps(run, indent=2, ensure_ascii=False), encoding="utf-8")
    stem.with_suffix(".md").write_text(report(run), encoding="utf-8")
    print(report(run))
    print(f"Written to {stem}.json and .md")


if __name__ == "__main__":
    main()
