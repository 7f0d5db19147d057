"""Load test: many clients at once on a running service, mixing saved queries, /sparql and resource pages.

    samverkan serve --workers 2 --port 5000 &
    python bench/load_test.py --url http://127.0.0.1:5000            # 16 clients for 60 s
    python bench/load_test.py --url http://127.0.0.1:5000 --clients 4 --seconds 10

Each client sends requests one after another, picked at random (seeded) from the mix below, with varying
municipalities so that the result cache both hits and misses. Any answer but 200 (or 304) counts as an error.
Prints p50/p95/p99 latency and requests per second for each kind of request and for all of them, writes the
same to bench/results/load-*.json (or --out), and exits 1 if there was any error. Only ever aimed at
127.0.0.1: the URL must be a loopback address.
"""

from __future__ import annotations

import argparse
import csv
import ipaddress
import json
import os
import platform
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SAMV = "PREFIX samv: <https://w3id.org/samverkan/ontology#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
STUDIES = ("fiktiv-fokusgrupper-2011", "fiktiv-krisberedskap-2021", "fiktiv-fallstudie-kommun-hogskola")
JSON_RESULTS = "application/sparql-results+json"


@dataclass(frozen=True)
class Call:
    kind: str  # saved query, sparql or page
    name: str  # what the report groups by
    path: str
    params: dict[str, str | list[str]] = field(default_factory=dict)
    accept: str = "*/*"
    form: bool = False  # POST form-encoded instead of GET


def municipality_codes() -> list[str]:
    with (ROOT / "data" / "reference" / "kommuner.csv").open(encoding="utf-8") as handle:
        return [row["kommunkod"] for row in csv.DictReader(handle)]


def mix(rnd: random.Random, codes: list[str]) -> Callable[[], Call]:
    """The requests a class of researchers would send: weights of saved queries 4, /sparql 4, pages 2."""
    code = lambda: rnd.choice(codes)  # noqa: E731
    saved: list[Callable[[], Call]] = [
        lambda: Call("saved query", "municipalities", "/api/queries/municipalities", accept="text/csv"),
        lambda: Call("saved query", "studies", "/api/queries/studies", accept=JSON_RESULTS),
        lambda: Call("saved query", "collaborations-by-county", "/api/queries/collaborations-by-county"),
        lambda: Call("saved query", "partner-types-by-municipality", "/api/queries/partner-types-by-municipality"),
        lambda: Call("saved query", "municipality-profile", "/api/queries/municipality-profile", {"kommun": code()}),
        lambda: Call("saved query", "find-collaborations", "/api/queries/find-collaborations", {"kommun": code()}),
        lambda: Call(
            "saved query",
            "compare-studies",
            "/api/queries/compare-studies",
            {"study": rnd.sample(STUDIES, 2), "dimension": rnd.choice(["form", "goal", "tool", "topic"])},
        ),
    ]
    sparql: list[Callable[[], Call]] = [
        lambda: Call(
            "sparql",
            "lookup",
            "/sparql",
            {"query": SAMV + f'SELECT ?m ?name WHERE {{ ?m samv:kommunkod "{code()}" ; rdfs:label ?name }}'},
            JSON_RESULTS,
        ),
        lambda: Call(
            "sparql",
            "count by county",
            "/sparql",
            {
                "query": SAMV + "SELECT ?lan (COUNT(?m) AS ?n) WHERE { ?m a samv:Municipality ; samv:county ?c . "
                "?c samv:lanskod ?lan } GROUP BY ?lan ORDER BY ?lan"
            },
            "text/csv",
            form=True,
        ),
        lambda: Call(
            "sparql",
            "construct",
            "/sparql",
            {"query": SAMV + "CONSTRUCT { ?c samv:lanskod ?code } WHERE { ?c a samv:County ; samv:lanskod ?code }"},
            "text/turtle",
        ),
        lambda: Call(
            "sparql", "describe", "/sparql", {"query": f"DESCRIBE <https://w3id.org/samverkan/id/kommun/{code()}>"}
        ),
    ]
    pages: list[Callable[[], Call]] = [
        lambda: Call("page", "/id/kommun/…", f"/id/kommun/{code()}", accept="text/html"),
        lambda: Call("page", "/id/lan/…", f"/id/lan/{code()[:2]}", accept="text/html"),
        lambda: Call("page", "/", "/", accept="text/html"),
        lambda: Call("page", "/queries", "/queries", accept="text/html"),
    ]
    weighted = [(saved, 4), (sparql, 4), (pages, 2)]
    choices = [group for group, weight in weighted for _ in range(weight)]
    return lambda: rnd.choice(rnd.choice(choices))()


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def percentile(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def summary(tally: Tally, wall: float) -> dict[str, Any]:
    ordered = sorted(tally.latencies)
    return {
        "requests": len(ordered) + len(tally.errors),
        "errors": len(tally.errors),
        "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else None,
        "p95_ms": round(1000 * percentile(ordered, 0.95), 1) if ordered else None,
        "p99_ms": round(1000 * percentile(ordered, 0.99), 1) if ordered else None,
        "requests_per_s": round(len(ordered) / wall, 1),
        "error_examples": tally.errors[:5],
    }


def run(url: str, clients: int, seconds: float, seed: int) -> dict[str, Any]:
    """`clients` threads, each with its own connection, sending until `seconds` have passed."""
    codes = municipality_codes()
    load_average = os.getloadavg()
    tallies: dict[tuple[str, str], Tally] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        session = requests.Session()
        pick = mix(random.Random(seed + number), codes)
        while time.monotonic() < deadline:
            call = pick()
            start = time.perf_counter()
            error = ""
            try:
                headers = {"Accept": call.accept}
                if call.form:
                    response = session.post(url + call.path, data=call.params, headers=headers, timeout=60)
                else:
                    response = session.get(url + call.path, params=call.params, headers=headers, timeout=60)
                if response.status_code not in (200, 304):
                    error = f"{response.status_code} {call.path}: {response.text[:200]}"
            except requests.RequestException as failure:
                error = f"{type(failure).__name__} {call.path}: {failure}"
            elapsed = time.perf_counter() - start
            with lock:
                tally = tallies.setdefault((call.kind, call.name), Tally())
                if error:
                    tally.errors.append(error)
                else:
                    tally.latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    everything = Tally()
    kinds: dict[str, Tally] = {}
    for (kind, _), tally in tallies.items():
        for target in (everything, kinds.setdefault(kind, Tally())):
            target.latencies += tally.latencies
            target.errors += tally.errors
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_at_start": [round(x, 2) for x in load_average],
        "url": url,
        "clients": clients,
        "seconds": round(wall, 1),
        "all": summary(everything, wall),
        "by_kind": {kind: summary(tally, wall) for kind, tally in sorted(kinds.items())},
        "by_request": {f"{kind}: {name}": summary(tally, wall) for (kind, name), tally in sorted(tallies.items())},
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['clients']} clients for {result['seconds']} s on {result['url']} ({result['date']}; "
        f"{result['machine']}; load average at the start {result['load_average_at_start']})",
        "",
        "| requests | count | errors | p50 ms | p95 ms | p99 ms | req/s |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [("all", result["all"]), *result["by_kind"].items(), *result["by_request"].items()]
    for name, s in rows:
        lines.append(
            f"| {name} | {s['requests']} | {s['errors']} | {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | "
            f"{s['requests_per_s']} |"
        )
    examples = [e for _, s in rows[1:] for e in s["error_examples"]]
    if examples:
        lines += ["", "Errors, for example:", *(f"- {e}" for e in examples[:10])]
    return "\n".join(lines)


def loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:5000", help="the service's base URL (loopback only)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=2011)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for load-*.json [bench/results]")
    args = parser.parse_args()
    url = args.url.rstrip("/")
    if not loopback(url):
        parser.error(f"--url must be on this machine (127.0.0.1 or localhost); got {url}")
    if not 1 <= args.clients <= 64 or not 0 < args.seconds <= 600:
        parser.error("--clients must be 1 to 64 and --seconds at most 600")
    try:
        requests.get(url + "/health", timeout=10).raise_for_status()
    except requests.RequestException as error:
        parser.exit(2, f"load_test.py: the service at {url} does not answer /health: {error}\n")
    result = run(url, args.clients, args.seconds, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"load-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(table(result))
    print(f"\nWritten to {out}")
    sys.exit(1 if result["all"]["errors"] else 0)


if __name__ == "__main__":
    main()
