"""Benchmark: do 50 data releases change what queries on the current data cost? (issue 12)

    python bench/releases.py [--releases 50] [--rounds 20] [--examples/--no-examples]

Two on-disk stores get the same data (the shipped data and the example studies) and the same `--releases`
writes (one triple more each time); after each write, store R is frozen as a release, store N is not. So R has
`--releases` snapshots beside it (hard links to its files), N none, and the data is the same. Then every curated
saved query that needs no parameter runs on R and on N in turn, `--rounds` times, the order swapped each round,
so a busy neighbour slows both alike. Reported per query: the median time on each store and the median of the
paired ratios R/N with its interquartile range; and the cost of asking which release the data equals
(`ReleaseArchive.status`, what every answer adds). Results: bench/results/releases-STAMP.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.ingest.shipped import BuildCache, shipped_sources, sync  # noqa: E402
from service.releases import ReleaseArchive  # noqa: E402
from service.saved_queries import QueryLibrary  # noqa: E402
from service.store import EmbeddedStore  # noqa: E402

RESULTS = ROOT / "bench" / "results"
EX = "https://example.org/"


def run_ms(store: EmbeddedStore, sparql: str) -> float:
    started = time.perf_counter()
    for _ in store.query(sparql):  # type: ignore[union-attr]
        pass
    return (time.perf_counter() - started) * 1000


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, q2, q3


def own_bytes(folder: Path, shared_with: Path) -> int:
    """Bytes of the files under `folder` that are not hard links to files of `shared_with` (counted once each)."""
    shared = {(f.stat().st_dev, f.stat().st_ino) for f in shared_with.rglob("*") if f.is_file()}
    own = {(f.stat().st_dev, f.stat().st_ino): f.stat().st_size for f in folder.rglob("*") if f.is_file()}
    return sum(size for inode, size in own.items() if inode not in shared)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--examples", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    started = datetime.now(UTC)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-releases-") as folder:
        base = Path(folder) / "base"
        sync(
            EmbeddedStore(str(base)),
            shipped_sources(ROOT, examples=args.examples),
            BuildCache(ROOT / ".cache" / "builds"),
        )
        shutil.copytree(base, Path(folder) / "r")
        shutil.copytree(base, Path(folder) / "n")
        released, plain = EmbeddedStore(str(Path(folder) / "r")), EmbeddedStore(str(Path(folder) / "n"))
        archive = ReleaseArchive(Path(folder) / "r.releases")
        making = []
        for i in range(args.releases):
            for store in (released, plain):
                store.update(f"INSERT DATA {{ GRAPH <{EX}bench> {{ <{EX}r> <{EX}n> {i} }} }}")
            t = time.perf_counter()
            archive.make(released, f"bench {i}")
            making.append((time.perf_counter() - t) * 1000)
        assert len(archive.list()) == args.releases
        library = QueryLibrary(ROOT / "queries", Path(folder) / "user-queries").current()
        queries = {  # the curated SELECTs that need no parameter (a free one matches all) and no other endpoint
            q.name: q.sparql
            for q in library.latest()
            if q.form == "select" and not any(s.required for s in q.parameters) and "SERVICE" not in q.sparql.upper()
        }
        times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in queries}
        for sparql in queries.values():  # once each, to warm both stores' caches
            run_ms(released, sparql)
            run_ms(plain, sparql)
        for round_ in range(args.rounds):
            for name, sparql in queries.items():
                if round_ % 2:
                    n, r = run_ms(plain, sparql), run_ms(released, sparql)
                else:
                    r, n = run_ms(released, sparql), run_ms(plain, sparql)
                times[name][0].append(r)
                times[name][1].append(n)
        status_us = []
        for _ in range(1000):
            t = time.perf_counter()
            archive.status(released)
            status_us.append((time.perf_counter() - t) * 1e6)
        disk = own_bytes(archive.root, Path(released.path))
        triples = sum(1 for _ in plain.query("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }"))  # type: ignore[union-attr]
    rows = []
    for name, (r_times, n_times) in times.items():
        low, mid, high = quartiles([r / n for r, n in zip(r_times, n_times, strict=True)])
        rows.append(
            {
                "query": name,
                "with_releases_ms": round(statistics.median(r_times), 2),
                "without_ms": round(statistics.median(n_times), 2),
                "ratio_median": round(mid, 3),
                "ratio_iqr": [round(low, 3), round(high, 3)],
            }
        )
    result = {
        "benchmark": "releases",
        "date": started.isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_at_start": [round(x, 2) for x in load],
        "triples": triples,
        "releases": args.releases,
        "rounds": args.rounds,
        "status_us_median": round(statistics.median(status_us), 1),
        "release_make_ms_median": round(statistics.median(making), 1) if making else None,
        "releases_own_bytes": disk,
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M")
    (RESULTS / f"releases-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# {args.releases} releases and queries on the current data ({result['date']}, {result['machine']})",
        "",
        f"{triples:,} triples; {args.rounds} rounds, each query on both stores in turn; load average at start "
        f"{load[0]:.2f}. A release took {result['release_make_ms_median']} ms (median); the {args.releases} "
        f"releases hold {disk:,} bytes of their own (the rest are hard links to the store's files). Asking which "
        f"release the data equals took {result['status_us_median']} µs (median of 1000).",
        "",
        "| query | with releases (ms) | without (ms) | ratio, median of rounds | ratio, IQR |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['query']} | {row['with_releases_ms']} | {row['without_ms']} | {row['ratio_median']} "
            f"| {row['ratio_iqr'][0]} to {row['ratio_iqr'][1]} |"
        )
    (RESULTS / f"releases-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
