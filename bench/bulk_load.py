"""Benchmark: `samverkan import` beside `oxigraph load` on the same files, and this code beside an older checkout.

    python bench/bulk_load.py --scale 100k --repeat 3
    python bench/bulk_load.py --scale 1M --repeat 3 --before /path/to/older/checkout   # before (once) and after

bench/generate.py writes the data once (the files bench/peers.py loads). Each round, in turn, on a fresh
on-disk store: `oxigraph load` of all.nq; `samverkan import` of each graph's N-Triples file (one process
per file, as bench/peers.py does) with this checkout's code, and with the code of --before when given;
then, on the store this checkout just filled, the largest graph imported once more over itself (a replace).
The systems alternate within each round, so the machine's load falls on all of them alike. Medians and
every run go to bench/results/bulk-load-*.json and *.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def import_all(code: Path, data: Path, manifest: dict[str, Any], store: Path) -> float:
    """`samverkan import` of every graph file, each in its own process, with the code of the checkout `code`."""
    total = 0.0
    for graph, info in manifest["graphs"].items():
        command = [sys.executable, "-m", "service.cli", "import", str(data / info["file"]), "--graph", graph]
        total += timed([*command, "--store", str(store)], code)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="100k", help="as bench/generate.py takes it: 10k, 100k, 1M [100k]")
    parser.add_argument("--repeat", type=int, default=3, help="rounds [3]")
    parser.add_argument("--before", type=Path, help="an older checkout of this repository, to compare with")
    parser.add_argument("--before-repeat", type=int, default=1, help="rounds that also run --before (slow) [1]")
    parser.add_argument("--work", type=Path, help="folder for data and stores (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="samverkan-bulk-"))
    data = work / f"data-{args.scale}"
    if not (data / "manifest.json").exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), args.scale, str(data)], check=True)
    manifest = json.loads((data / "manifest.json").read_text())
    largest = max(manifest["graphs"].items(), key=lambda item: item[1]["triples"])
    started = datetime.now(UTC)
    load_average = " ".join(f"{x:.1f}" for x in os.getloadavg())
    runs: dict[str, list[float]] = {"oxigraph load": [], "samverkan import (this code)": [], "replace (this code)": []}
    if args.before:
        runs["samverkan import (before)"] = []
    for round_ in range(args.repeat):
        for name in runs:
            if name == "samverkan import (before)" and round_ >= args.before_repeat:
                continue
            store = work / "store"
            if not name.startswith("replace"):
                shutil.rmtree(store, ignore_errors=True)
            if name == "oxigraph load":
                command = [str(BIN / "oxigraph"), "load", "--location", str(store), "--file", str(data / "all.nq")]
                seconds = timed(command, work)
            elif name == "samverkan import (before)":
                seconds = import_all(args.before, data, manifest, store)
            elif name == "samverkan import (this code)":
                seconds = import_all(ROOT, data, manifest, store)
            else:  # over the store the previous step filled
                graph, info = largest
                command = [sys.executable, "-m", "service.cli", "import", str(data / info["file"]), "--graph", graph]
                seconds = timed([*command, "--store", str(store)], ROOT)
            runs[name].append(round(seconds, 2))
            print(f"round {round_ + 1}: {name} {seconds:.2f} s", flush=True)
    shutil.rmtree(work / "store", ignore_errors=True)

    summary = {name: {"median_s": statistics.median(times), "runs_s": times} for name, times in runs.items()}
    result = {
        "date": started.isoformat(timespec="minutes"),
        "load_average_at_start": load_average,
        "cpus": os.cpu_count(),
        "scale": args.scale,
        "triples": manifest["triples"],
        "largest_graph_triples": largest[1]["triples"],
        "before": str(args.before) if args.before else None,
        "results": summary,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"bulk-load-{args.scale}-{started.strftime('%Y%m%d-%H%M')}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    oxigraph = summary["oxigraph load"]["median_s"]
    lines = [
        f"date: {result['date']}; load average at start: {load_average}; {manifest['triples']:,} triples",
        "",
        "| loader | median s | x `oxigraph load` | runs s |",
        "|---|---|---|---|",
    ]
    for name, values in summary.items():
        runs_text = " / ".join(f"{t:.2f}" for t in values["runs_s"])
        lines.append(f"| {name} | {values['median_s']:.2f} | {values['median_s'] / oxigraph:.2f} | {runs_text} |")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
