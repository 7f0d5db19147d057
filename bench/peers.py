"""Our service beside its peers, in one run on one machine: load time, latency and throughput at several scales.

    python bench/peers.py                          # 10k and 100k triples, every system (about 10 minutes)
    python bench/peers.py --scales 1M              # once, by hand: about 1 million triples
    python bench/peers.py --systems samverkan,oxigraph --scales 10k

For each scale, bench/generate.py writes the data once; then each system in turn loads it, is measured, and
is stopped (one at a time, so they never compete for the two cores):

  samverkan          our service: `samverkan import` of each graph into an on-disk store, then
                     `samverkan serve --workers 2` (result cache on, as it ships)
  samverkan-nocache  the same store served with --result-cache-mb 0: what a query costs when it really runs
  oxigraph           `oxigraph load` + `oxigraph serve --union-default-graph` (PyPI oxigraph, on disk)
  virtuoso           Debian's Virtuoso 7.2, bulk loader (scripts/virtuoso)
  rdflib-endpoint    PyPI rdflib-endpoint 0.6.3 (rdflib's engine, in memory)

Four queries (bench/queries/ and the saved query queries/compare-studies.rq, which our service runs through
/api/queries/compare-studies and the peers get as the same SPARQL text): cold (the first request after
start) and warm (repeated), at 1 and 4 concurrent clients. Results go to bench/results/peers-*.json and
*.md; bench/README.md explains the columns.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.generate import generate, parse_scale  # noqa: E402
from service.parameters import bind  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
SYSTEMS = ("samverkan", "samverkan-nocache", "oxigraph", "virtuoso", "rdflib-endpoint")
QUERIES = ("lookup", "join-group-by", "compare-studies", "construct")
SAVED_QUERY = "compare-studies"
SELECT_ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples"
TIMEOUT = 300.0  # seconds one request may take before it counts as an error (--timeout)
TOO_SLOW = 30.0  # a cold request slower than this is not repeated


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout} s:\n{log.read_text()[-2000:]}")


@contextmanager
def running(args: list[str], url: str, log: Path, env: dict[str, str] | None = None) -> Iterator[float]:
    """Start a server, yield the seconds it took to answer `url`, stop it."""
    start = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    try:
        wait_for(url, process, log)
        yield time.perf_counter() - start
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def timed_run(args: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


# --- The requests ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    params: dict[str, Any]
    accept: str
    timeout: float

    def send(self, session: requests.Session) -> requests.Response:
        if self.method == "GET":
            return session.get(self.url, params=self.params, headers={"Accept": self.accept}, timeout=self.timeout)
        return session.post(self.url, data=self.params, headers={"Accept": self.accept}, timeout=self.timeout)


def query_texts(manifest: dict[str, Any]) -> dict[str, str]:
    """The SPARQL each peer gets; the comparison query bound to the first two studies as our API binds it."""
    texts = {name: (ROOT / "bench" / "queries" / f"{name}.rq").read_text() for name in QUERIES if name != SAVED_QUERY}
    saved = (ROOT / "queries" / f"{SAVED_QUERY}.rq").read_text()
    studies = [ox.NamedNode(s) for s in manifest["studies"][:2]]
    texts[SAVED_QUERY] = bind(saved, {"study": studies, "dimension": [ox.Literal("form")]})
    return texts


def requests_for(
    system: str, base: str, texts: dict[str, str], manifest: dict[str, Any], timeout: float
) -> dict[str, Request]:
    endpoint = {"oxigraph": "/query", "virtuoso": "/sparql", "rdflib-endpoint": "/"}.get(system, "/sparql")
    made = {}
    for name, text in texts.items():
        accept = GRAPH_ACCEPT if name == "construct" else SELECT_ACCEPT
        made[name] = Request("POST", base + endpoint, {"query": text}, accept, timeout)
    if system.startswith("samverkan"):
        params = {"study": manifest["studies"][:2], "dimension": "form"}
        made[SAVED_QUERY] = Request("GET", f"{base}/api/queries/{SAVED_QUERY}", params, SELECT_ACCEPT, timeout)
    return made


def answer_size(response: requests.Response) -> int:
    """Rows of a SELECT answer, or triples of a graph answer (to see that every system answered alike)."""
    if response.headers.get("Content-Type", "").startswith("application/sparql-results+json"):
        return len(response.json()["results"]["bindings"])
    return sum(1 for line in response.text.splitlines() if line.strip() and not line.startswith(("@", "#")))


# --- Measuring ------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2) if ordered else None

        return {
            "requests": len(ordered),
            "errors": len(self.errors),
            "error_examples": self.errors[:3],
            "p50_ms": round(1000 * statistics.median(ordered), 2) if ordered else None,
            "p95_ms": pct(0.95),
            "requests_per_s": round(len(ordered) / self.wall, 1) if self.wall else None,
        }


def hammer(request: Request, clients: int, max_requests: int, seconds: float) -> Sample:
    """`clients` threads send the request until `max_requests` are done or `seconds` have passed."""
    sample = Sample()
    lock = threading.Lock()
    issued = 0
    deadline = time.monotonic() + seconds

    def client() -> None:
        nonlocal issued
        session = requests.Session()
        while True:
            with lock:
                if issued >= max_requests or time.monotonic() > deadline:
                    return
                issued += 1
            start = time.perf_counter()
            try:
                response = request.send(session)
                response.content  # noqa: B018 - read the whole body
                ok = response.status_code in (200, 304)
                error = "" if ok else f"{response.status_code} {response.text[:200]}"
            except requests.RequestException as failure:
                error = f"{type(failure).__name__}: {failure}"
            elapsed = time.perf_counter() - start
            with lock:
                if error:
                    sample.errors.append(error)
                else:
                    sample.latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sample.wall = time.perf_counter() - start
    return sample


def measure(
    requests_by_query: dict[str, Request], repeats: int, seconds: float, cached: bool = False
) -> dict[str, Any]:
    """Cold and warm figures for each query; a system with a result cache is measured warm however slow cold was."""
    results: dict[str, Any] = {}
    for name in QUERIES:
        request = requests_by_query[name]
        session = requests.Session()
        start = time.perf_counter()
        try:
            response = request.send(session)
            cold = time.perf_counter() - start
            entry: dict[str, Any] = {"cold_ms": round(1000 * cold, 2), "status": response.status_code}
            if response.status_code == 200:
                entry["answer_size"] = answer_size(response)
            else:
                entry["error"] = response.text[:300]
        except requests.RequestException as failure:
            cold = time.perf_counter() - start
            entry = {"cold_ms": round(1000 * cold, 2), "status": None, "error": str(failure)[:300]}
        if entry["status"] == 200 and (cold < TOO_SLOW or cached):
            entry["c1"] = hammer(request, 1, repeats, seconds).summary()
            entry["c4"] = hammer(request, 4, 2 * repeats, seconds).summary()
        elif entry["status"] == 200:
            entry["skipped"] = f"not repeated: the first request took {cold:.1f} s"
        results[name] = entry
        print(f"    {name:16} cold {entry['cold_ms']:>10.1f} ms  {summary_line(entry)}", flush=True)
    return results


def summary_line(entry: dict[str, Any]) -> str:
    if "c1" not in entry:
        return entry.get("skipped") or entry.get("error", "")
    c1, c4 = entry["c1"], entry["c4"]
    return (
        f"warm p50 {c1['p50_ms']} ms p95 {c1['p95_ms']} ms ({c1['requests_per_s']}/s) | 4 clients p50 "
        f"{c4['p50_ms']} ms ({c4['requests_per_s']}/s) | errors {c1['errors'] + c4['errors']}"
    )


# --- The systems ----------------------------------------------------------------------------------------------


def run_samverkan(data: Path, manifest: dict[str, Any], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    store = work / "samverkan-store"
    imports = {}  # one `samverkan import` process per graph file
    for graph, info in manifest["graphs"].items():
        cli = [str(BIN / "samverkan"), "import", str(data / info["file"]), "--graph", graph, "--store", str(store)]
        imports[info["file"]] = round(timed_run(cli), 2)
    load = sum(imports.values())
    results = {}
    for system, extra in (("samverkan", []), ("samverkan-nocache", ["--result-cache-mb", "0"])):
        if system not in args.systems:
            continue
        port = free_port()
        serve = [str(BIN / "samverkan"), "serve", "--store", str(store), "--no-shipped-data", "--port", str(port)]
        serve += ["--workers", str(args.workers), "--query-timeout", str(args.timeout), *extra]
        print(f"  {system}", flush=True)
        with running(serve, f"http://127.0.0.1:{port}/health", work / f"{system}.log") as started:
            base = f"http://127.0.0.1:{port}"
            results[system] = {
                "load_s": round(load, 2),
                "imports_s": imports,
                "start_s": round(started, 2),
                "queries": measure(
                    requests_for(system, base, args.texts, manifest, args.timeout),
                    args.repeats,
                    args.seconds,
                    cached=not extra,
                ),
            }
    return results


def run_oxigraph(data: Path, manifest: dict[str, Any], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    location = work / "oxigraph-store"
    load = timed_run([str(BIN / "oxigraph"), "load", "--location", str(location), "--file", str(data / "all.nq")])
    port = free_port()
    serve = [str(BIN / "oxigraph"), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"]
    serve += ["--union-default-graph"]
    print("  oxigraph", flush=True)
    with running(serve, f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", work / "oxigraph.log") as started:
        base = f"http://127.0.0.1:{port}"
        queries = measure(
            requests_for("oxigraph", base, args.texts, manifest, args.timeout), args.repeats, args.seconds
        )
    return {"oxigraph": {"load_s": round(load, 2), "start_s": round(started, 2), "queries": queries}}


def run_virtuoso(data: Path, manifest: dict[str, Any], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    script = str(ROOT / "scripts" / "virtuoso")
    if shutil.which("virtuoso-t") is None:
        subprocess.run([script, "install"], check=True)
    sql_port, http_port = free_port(), free_port()
    env = {**os.environ, "VIRTUOSO_BUFFERS": str(args.virtuoso_buffers)}
    serve = [script, "serve", str(work / "virtuoso"), str(sql_port), str(http_port), str(data)]
    print("  virtuoso", flush=True)
    with running(serve, f"http://127.0.0.1:{http_port}/sparql?query=ASK%7B%7D", work / "virtuoso.log", env) as up:
        load = timed_run([script, "load", str(sql_port), str(data / "all.nq"), "urn:bench:unnamed"])
        base = f"http://127.0.0.1:{http_port}"
        queries = measure(
            requests_for("virtuoso", base, args.texts, manifest, args.timeout), args.repeats, args.seconds
        )
    return {"virtuoso": {"load_s": round(load, 2), "start_s": round(up, 2), "queries": queries}}


def run_rdflib_endpoint(data: Path, manifest: dict[str, Any], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    binary = BIN / "rdflib-endpoint"
    if not binary.exists():
        raise SystemExit("rdflib-endpoint is missing: pip install -e '.[bench]'")
    port = free_port()
    serve = [str(binary), "serve", str(data / "all.nq"), "--host", "127.0.0.1", "--port", str(port)]
    print("  rdflib-endpoint", flush=True)
    ask = f"http://127.0.0.1:{port}/?query=ASK%7B%7D"
    with running(serve, ask, work / "rdflib-endpoint.log") as started:  # it parses the file before it listens
        base = f"http://127.0.0.1:{port}"
        queries = measure(
            requests_for("rdflib-endpoint", base, args.texts, manifest, args.timeout), args.repeats, args.seconds
        )
    return {"rdflib-endpoint": {"load_s": round(started, 2), "start_s": round(started, 2), "queries": queries}}


RUNNERS: tuple[tuple[tuple[str, ...], Callable[..., dict[str, Any]]], ...] = (
    (("samverkan", "samverkan-nocache"), run_samverkan),
    (("oxigraph",), run_oxigraph),
    (("virtuoso",), run_virtuoso),
    (("rdflib-endpoint",), run_rdflib_endpoint),
)


# --- Reporting ------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line)

    def version(args: list[str]) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "not installed"

    virtuoso = "not installed"
    if shutil.which("virtuoso-t"):
        found = subprocess.run(["virtuoso-t", "-?"], capture_output=True, text=True).stderr
        virtuoso = next((line.strip() for line in found.splitlines() if "Version" in line), "unknown")
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        rdflib_endpoint = package_version("rdflib-endpoint")
    except PackageNotFoundError:
        rdflib_endpoint = "not installed"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(int(memory) / 1024 / 1024, 1),
        "python": platform.python_version(),
        "pyoxigraph": ox.__version__ if hasattr(ox, "__version__") else package_version("pyoxigraph"),
        "oxigraph_server": version([str(BIN / "oxigraph"), "--version"]),
        "virtuoso": virtuoso,
        "rdflib_endpoint": rdflib_endpoint,
        "samverkan_workers": None,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def ratio(ours: float | None, theirs: float | None) -> str:
    return f"{ours / theirs:.2f}x" if ours and theirs else "-"


def report(run: dict[str, Any]) -> str:
    """The run as Markdown: per scale, a table per query, and our figures as ratios to each peer."""
    info = run["machine"]
    lines = [
        f"# Peers benchmark, {info['date']}",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB; Python {info['python']}, "
        f"pyoxigraph {info['pyoxigraph']}, {info['oxigraph_server']}, Virtuoso {info['virtuoso']}, "
        f"rdflib-endpoint {info['rdflib_endpoint']}. Our service: `samverkan serve --workers "
        f"{info['samverkan_workers']}`. Load average at the start: {info['load_average_at_start']}.",
        f"Command: `{run['command']}`",
        "",
    ]
    for scale, result in run["scales"].items():
        systems = result["systems"]
        lines += [f"## {scale}: {result['triples']:,} triples", "", "| system | load s |", "|---|---|"]
        lines += [f"| {name} | {entry['load_s']} |" for name, entry in systems.items()]
        lines.append("")
        for query in QUERIES:
            lines += [
                f"### {query}",
                "",
                "| system | answer | cold ms | warm p50 ms | warm p95 ms | req/s (1) | p50 ms (4) | req/s (4) "
                "| errors |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for name, entry in systems.items():
                q = entry["queries"][query]
                c1, c4 = q.get("c1", {}), q.get("c4", {})
                errors = c1.get("errors", 0) + c4.get("errors", 0) + (0 if q["status"] == 200 else 1)
                lines.append(
                    f"| {name} | {q.get('answer_size', q.get('error', '')[:60])} | {q['cold_ms']} | "
                    f"{c1.get('p50_ms', '-')} | {c1.get('p95_ms', '-')} | {c1.get('requests_per_s', '-')} | "
                    f"{c4.get('p50_ms', '-')} | {c4.get('requests_per_s', '-')} | {errors} |"
                )
            lines.append("")
        lines += ratios(systems)
    return "\n".join(lines) + "\n"


def ratios(systems: dict[str, Any]) -> list[str]:
    """Our latency as a multiple of each peer's (below 1 is faster), our throughput as a multiple of theirs."""
    peers = [name for name in ("oxigraph", "virtuoso", "rdflib-endpoint") if name in systems]
    lines = []
    for ours in ("samverkan", "samverkan-nocache"):
        if ours not in systems:
            continue
        lines += [
            f"#### {ours} as a ratio to each peer (latency: ours / theirs, below 1x is faster; "
            "throughput: ours / theirs, above 1x is more)",
            "",
            "| query | " + " | ".join(f"cold vs {p} | warm vs {p} | req/s (4) vs {p}" for p in peers) + " |",
            "|---|" + "---|" * (3 * len(peers)),
        ]
        for query in QUERIES:
            mine = systems[ours]["queries"][query]
            cells = []
            for peer in peers:
                theirs = systems[peer]["queries"][query]
                cells += [
                    ratio(mine["cold_ms"], theirs["cold_ms"]),
                    ratio(mine.get("c1", {}).get("p50_ms"), theirs.get("c1", {}).get("p50_ms")),
                    ratio(mine.get("c4", {}).get("requests_per_s"), theirs.get("c4", {}).get("requests_per_s")),
                ]
            lines.append(f"| {query} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="10k,100k", help="comma-separated, e.g. 10k,100k,1M [10k,100k]")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, of {', '.join(SYSTEMS)}")
    parser.add_argument("--repeats", type=int, default=40, help="warm requests per query with 1 client (x2 with 4)")
    parser.add_argument("--seconds", type=float, default=6.0, help="at most this long for each warm series")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds a request may take [300]")
    parser.add_argument("--workers", type=int, default=2, help="HTTP worker processes of our service [2]")
    parser.add_argument("--virtuoso-buffers", type=int, default=200_000, help="Virtuoso NumberOfBuffers (8 kB)")
    parser.add_argument("--work", type=Path, help="folder for data and stores (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(args.systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {', '.join(sorted(unknown))}; choose from {', '.join(SYSTEMS)}")
    info = machine()
    info["samverkan_workers"] = args.workers
    run: dict[str, Any] = {"machine": info, "command": "python bench/peers.py " + " ".join(sys.argv[1:]), "scales": {}}
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="samverkan-bench-", dir=args.work) as temporary:
        for scale in [s.strip() for s in args.scales.split(",") if s.strip()]:
            work = Path(temporary) / scale
            data = work / "data"
            manifest = generate(parse_scale(scale), data)
            print(f"{scale}: {manifest['triples']:,} triples", flush=True)
            args.texts = query_texts(manifest)
            systems: dict[str, Any] = {}
            for names, runner in RUNNERS:
                if any(name in args.systems for name in names):
                    systems.update(runner(data, manifest, work, args))
            run["scales"][scale] = {"triples": manifest["triples"], "systems": systems}
            (args.out / f"peers-{stamp}.json").write_text(json.dumps(run, indent=2), encoding="utf-8")
            (args.out / f"peers-{stamp}.md").write_text(report(run), encoding="utf-8")
    print(report(run))
    print(f"Written to {args.out}/peers-{stamp}.json and .md")


if __name__ == "__main__":
    main()
