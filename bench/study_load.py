"""Benchmark: load a generated study of many coded observations; rows/s and peak memory per step.

    python bench/study_load.py generate FOLDER --observations 100000   # a study folder (study.yaml + 2 CSV)
    python bench/study_load.py pipeline [--sizes 1000 10000 100000] [--repeat 3]   # `samverkan load`, by step
    python bench/study_load.py reasoning [--sizes ...] [--engines hermit rules owlrl]   # engines side by side

Every measurement runs in a fresh Python process, so its peak memory (ru_maxrss) is its own; Java's (HermiT's)
is reported apart. The generated study is fictional and deterministic (seeded). See bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml
from rdflib import Graph

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.ingest.sheets import COLUMNS  # noqa: E402

RESULTS = ROOT / "bench" / "results"

# --- The study, as a researcher would code it ----------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    name: str
    kind: str  # partner_type as written in the sheet
    orgnr: str


@dataclass(frozen=True)
class Collaboration:
    name: str
    municipality: tuple[str, str]  # kommunkod, name
    partners: tuple[Actor, ...]
    form: str
    topic: str
    goals: tuple[str, ...]
    tools: tuple[str, ...]
    lead: str
    period: str


# Which partner types each form of collaboration draws on: the generated study has recognisable patterns.
FORM_PARTNERS = {
    "avtalssamverkan": ("kommun",),
    "kommunalförbund": ("kommun", "kommunalförbund"),
    "gemensam nämnd": ("kommun", "gemensam nämnd"),
    "kommunalt bolag": ("kommun", "kommunalt bolag"),
    "offentlig upphandling": ("företag",),
    "idéburet offentligt partnerskap": ("ideell organisation",),
    "partnerskap": ("universitet", "region", "företag", "ideell organisation"),
    "nätverk": ("kommun", "region", "statlig myndighet", "universitet"),
    "projekt": ("universitet", "statlig myndighet", "region", "företag"),
    "samverkansavtal": ("kommun", "region", "universitet"),
}
TOPICS = [
    "utbildning",
    "näringsliv",
    "socialtjänst",
    "vård och omsorg",
    "infrastruktur",
    "miljö",
    "kultur",
    "krisberedskap",
    "arbetsmarknad",
    "forskning och innovation",
]
GOALS = [
    "kompetensförsörjning",
    "effektivitet",
    "kvalitet",
    "regional utveckling",
    "kunskapsutveckling",
    "möta förändringar i samhället",
    "hantera kriser och ogynnsam utveckling",
]
TOOLS = [
    "avtal",
    "förbundsordning",
    "ägardirektiv",
    "bolagsordning",
    "styrgrupp",
    "handlingsplan",
    "avsiktsförklaring",
    "uppföljning och nyckeltal",
    "gemensam budget och finansiering",
]
# Pool sizes and organisationsnummer prefixes (2 public bodies, 5 aktiebolag, 8 ideella föreningar).
POOLS = {
    "region": (21, "Region Exempel", "232100"),
    "statlig myndighet": (40, "Exempelmyndigheten", "202100"),
    "universitet": (30, "Exempelhögskolan", "202100"),
    "företag": (3000, "Exempelföretag AB", "556"),
    "kommunalt bolag": (400, "Exempel kommunbolag AB", "556"),
    "ideell organisation": (1500, "Exempelföreningen", "802"),
    "kommunalförbund": (80, "Exempelförbundet", "222000"),
    "gemensam nämnd": (60, "Gemensamma exempelnämnden", ""),
}


def luhn_orgnr(prefix: str, number: int) -> str:
    """The `number`th organisationsnummer NNNNNN-NNNN starting with `prefix`, with a valid check digit (Luhn).

    Numbered, not drawn at random, so that no two made-up actors share one (the loader would merge them)."""
    digits = f"{prefix}{number:0{9 - len(prefix)}d}"
    total = sum(sum(divmod(int(d) * (2 - i % 2), 10)) for i, d in enumerate(digits))
    return f"{digits[:6]}-{digits[6:]}{(10 - total % 10) % 10}"


def municipalities() -> list[tuple[str, str]]:
    with (ROOT / "data" / "reference" / "kommuner.csv").open(encoding="utf-8") as handle:
        return [(row["kommunkod"], row["name_sv"]) for row in csv.DictReader(handle)]


def actor_pools() -> dict[str, list[Actor]]:
    numbered: dict[str, int] = {}  # organisationsnummer handed out per prefix
    pools: dict[str, list[Actor]] = {}
    for kind, (size, base, prefix) in POOLS.items():
        pools[kind] = []
        for n in range(1, size + 1):
            numbered[prefix] = numbered.get(prefix, 0) + 1
            pools[kind].append(Actor(f"{base} {n:04d}", kind, luhn_orgnr(prefix, numbered[prefix]) if prefix else ""))
    pools["kommun"] = [Actor(name, "kommun", "") for _, name in municipalities()]
    return pools


def collaborations(count: int, rng: random.Random) -> list[Collaboration]:
    pools = actor_pools()
    kommuner = municipalities()
    made = []
    for n in range(1, count + 1):
        form = rng.choice(sorted(FORM_PARTNERS))
        kinds = FORM_PARTNERS[form]
        home = rng.choice(kommuner)
        partners: dict[str, Actor] = {}
        for _ in range(rng.randint(1, 3)):
            actor = rng.choice(pools[rng.choice(kinds)])
            if actor.name != home[1]:
                partners[actor.name] = actor
        if not partners:
            partners = {"Exempelföretag AB 0001": pools["företag"][0]}
        start = rng.randint(2005, 2020)
        made.append(
            Collaboration(
                name=f"Exempelsamverkan {n:06d}",
                municipality=home,
                partners=tuple(partners.values()),
                form=form,
                topic=rng.choice(TOPICS),
                goals=tuple(rng.sample(GOALS, rng.randint(1, 2))),
                tools=tuple(rng.sample(TOOLS, rng.randint(1, 3))),
                lead=rng.choice([home[1], *partners]),
                period=f"{start}-{start + rng.randint(1, 6)}",
            )
        )
    return made


def observations(count: int, seed: int = 1) -> Iterator[tuple[str, dict[str, str]]]:
    """(sheet name, row) for `count` observations: five per collaboration on average, half from focus groups."""
    rng = random.Random(seed)
    collabs = collaborations(max(1, count // 5), rng)
    for n in range(1, count + 1):
        c = collabs[rng.randrange(len(collabs))]
        from_case = n % 2 == 0
        code, name = c.municipality
        yield (
            "fall" if from_case else "fokusgrupper",
            {
                "observation": f"O{n:06d}",
                "source": f"fall-{rng.randint(1, 20):02d}" if from_case else f"fg-{rng.randint(1, 40):02d}",
                "municipality": code if n % 3 == 0 else name,
                "collaboration": c.name,
                "partner": "|".join(a.name for a in c.partners),
                "partner_type": "|".join(a.kind for a in c.partners),
                "partner_orgnr": "|".join(a.orgnr for a in c.partners),
                "form": c.form,
                "topic": c.topic,
                "goals": "|".join(c.goals),
                "governance_tools": "|".join(c.tools),
                "lead_actor": c.lead,
                "period": c.period,
                "quote": f"Påhittat citat nummer {n} om hur vi styr samverkan kring {c.topic}.",
                "location": f"s. {rng.randint(1, 60)}" if from_case else f"00:{rng.randint(0, 59):02d}:00",
                "coder": rng.choice(["AA", "BB", "CC"]),
            },
        )


def study_metadata(study_id: str, count: int) -> dict[str, Any]:
    kommuner = municipalities()
    return {
        "id": study_id,
        "title": {
            "sv": f"Benchmarkstudie ({count} påhittade observationer)",
            "en": f"Benchmark study ({count} fictional observations)",
        },
        "period": {"start": "2011", "end": "2012"},
        "method": "fokusgruppsintervjuer och fallstudier",
        "researchers": ["Påhittad Forskare"],
        "institution": "Exempelhögskolan",
        "licence": "CC-BY-4.0",
        "source": "Genererad av bench/study_load.py",
        "description": {"sv": "Påhittad studie för prestandamätning.", "en": "Fictional study for benchmarking."},
        "fictional": True,
        "focus_groups": [
            {
                "id": f"fg-{n:02d}",
                "date": f"2011-{1 + n % 12:02d}-{1 + n % 28:02d}",
                "participant_roles": ["kommundirektör", "förvaltningschef"],
                "municipalities": [kommuner[(n * 7) % len(kommuner)][1]],
            }
            for n in range(1, 41)
        ],
        "cases": [{"id": f"fall-{n:02d}", "title": f"Påhittat fall {n}"} for n in range(1, 21)],
    }


def generate(folder: Path, count: int, seed: int = 1) -> Path:
    """Write a study folder: study.yaml and two coding sheets (focus groups, cases)."""
    study_id = f"benchmark-{count}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "study.yaml").write_text(yaml.safe_dump(study_metadata(study_id, count), allow_unicode=True))
    handles = {
        name: (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") for name in ("fokusgrupper", "fall")
    }
    writers = {name: csv.DictWriter(handle, COLUMNS) for name, handle in handles.items()}
    for writer in writers.values():
        writer.writeheader()
    for sheet, row in observations(count, seed):
        writers[sheet].writerow(row)
    for handle in handles.values():
        handle.close()
    return folder


# --- Measuring -------------------------------------------------------------------------------------------------


def peak_memory() -> dict[str, float]:
    """Peak resident memory in MB of this process and of its largest finished child (HermiT's Java)."""
    return {
        "python_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "java_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def build_graphs(folder: Path, out: Path) -> dict[str, int]:
    """The study's graph and what the reasoner is given beside it, as the loader builds them, in N-Triples files."""
    from service.ingest.progress import Progress
    from service.ingest.schema import Schema
    from service.ingest.study import build_study

    schema = Schema(ROOT)
    study = build_study(folder, schema, Progress())
    assert not study.problems, study.problems[:3]
    triples = study.oxigraph_triples()
    ox.serialize(triples, out / "study.nt", format=ox.RdfFormat.N_TRIPLES)
    (out / "context.nt").write_bytes(schema.beside(study.named()).serialize(format="nt", encoding="utf-8"))
    return {"triples": len(triples)}


def run_reasoning(engine: str, folder: Path, rows: int) -> dict[str, Any]:
    """One measurement in this fresh process: infer() with one engine forced, or owlrl's OWL 2 RL closure."""
    from service.ingest.reasoning import infer

    context = Graph().parse(folder / "context.nt", format="nt")
    study = [quad.triple for quad in ox.parse(path=folder / "study.nt", format=ox.RdfFormat.N_TRIPLES)]
    union = context + Graph().parse(folder / "study.nt", format="nt") if engine == "owlrl" else Graph()
    start = time.perf_counter()
    if engine == "owlrl":
        import owlrl

        before = len(union)
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(union)
        inferred = len(union) - before
    else:
        found = infer(context, study, hermit_max_triples=sys.maxsize if engine == "hermit" else 0).facts
        inferred = len(found)
    seconds = time.perf_counter() - start
    if engine != "owlrl":
        ox.serialize(found, folder / f"inferred-{engine}.nt", format=ox.RdfFormat.N_TRIPLES)
    return {"seconds": round(seconds, 2), "rows_per_s": round(rows / seconds), "inferred": inferred, **peak_memory()}


def run_pipeline(folder: Path, store_dir: Path, rows: int) -> dict[str, Any]:
    """`samverkan load` in this fresh process, step by step: read, build, SHACL, reason, store (on disk).

    The study's graph is written while it is reasoned over, so the steps overlap: `seconds` is the whole load by
    the clock, and the step "storing" what is left to write once the last graph is made."""
    from service.config import Config
    from service.ingest.progress import Progress
    from service.ingest.schema import Schema
    from service.ingest.shipped import load_study, study_source
    from service.store import open_store

    progress = Progress()
    store = open_store(Config(store_path=str(store_dir)))  # first, as `samverkan load` opens it
    started = time.perf_counter()
    sizes = list(load_study(store, study_source(ROOT, folder, Schema(ROOT), progress), progress).values())
    seconds = round(time.perf_counter() - started, 2)
    steps = {step.name: round(step.seconds, 2) for step in progress.steps}
    return {"seconds": seconds, "steps": steps, "triples": sizes[0], "inferred": sizes[1], **peak_memory()}


def in_subprocess(timeout: float, *args: str) -> dict[str, Any]:
    """This script's worker command in a fresh interpreter; the last line it prints is its JSON result."""
    try:
        run = subprocess.run(
            [sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout:.0f} s"}
    if run.returncode != 0:
        return {"error": (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1][:200]}
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def median_run(runs: list[dict[str, Any]], key: Callable[[dict[str, Any]], float]) -> dict[str, Any]:
    """The run with the median time, and every run's time beside it."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    ordered = sorted(ok, key=key)
    return {**ordered[len(ordered) // 2], "runs": len(ok), "all_s": " / ".join(f"{key(r):g}" for r in ok)}


def machine() -> dict[str, str]:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False).stderr.splitlines()
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "memory": f"{memory_kb / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "java": java[0] if java else "none",
        "load_average_at_start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def save(name: str, about: dict[str, str], rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Write bench/results/NAME.json and NAME.md; return the Markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    text = "\n".join(lines)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": about, "results": rows}, indent=2) + "\n")
    header = "; ".join(f"{k}: {v}" for k, v in about.items())
    (RESULTS / f"{name}.md").write_text(f"{header}\n\n{text}\n")
    return text


def reasoning(
    sizes: list[int], engines: list[str], runs_at: Callable[[int], range], limits: dict[str, int], timeout: float
) -> None:
    """Each engine at each size, in fresh processes; an engine is skipped above its limit (it would take hours)."""
    about = machine()
    rows = []
    with tempfile.TemporaryDirectory(prefix="samverkan-bench-") as tmp:
        for size in sizes:
            folder = generate(Path(tmp, f"study-{size}"), size)
            graphs = Path(tmp, f"graphs-{size}")
            graphs.mkdir()
            triples = build_graphs(folder, graphs)["triples"]
            for engine in engines:
                row: dict[str, Any] = {"engine": engine, "observations": size, "triples": triples}
                if size > limits.get(engine, sys.maxsize):
                    rows.append(row | {"error": f"not run above {limits[engine]:,} observations"})
                    continue
                runs = [in_subprocess(timeout, "_reasoning", engine, str(graphs), str(size)) for _ in runs_at(size)]
                rows.append(row | median_run(runs, lambda r: float(r["seconds"])))
                print(rows[-1], flush=True)
            same = [
                Graph().parse(graphs / f"inferred-{e}.nt")
                for e in ("hermit", "rules")
                if (graphs / f"inferred-{e}.nt").exists()
            ]
            if len(same) == 2:
                for row in rows[-len(engines) :]:
                    if row["engine"] == "rules":
                        row["same_as_hermit"] = "yes" if set(same[0]) == set(same[1]) else "NO"
    columns = (
        "engine observations triples inferred same_as_hermit seconds all_s rows_per_s python_peak_mb java_peak_mb error"
    )
    print(save("reasoning", about, rows, columns.split()))


def pipeline(sizes: list[int], runs_at: Callable[[int], range], timeout: float) -> None:
    """`samverkan load` of a generated study, step by step; validate = read + build + SHACL; store = what is left
    to write once the last graph is made (the study's graph is written while it is reasoned over); total by the
    clock."""
    about = machine()
    rows = []
    with tempfile.TemporaryDirectory(prefix="samverkan-bench-") as tmp:
        for size in sizes:
            folder = generate(Path(tmp, f"study-{size}"), size)
            runs = [
                in_subprocess(timeout, "_pipeline", str(folder), str(Path(tmp, f"store-{size}-{n}")), str(size))
                for n in runs_at(size)
            ]
            run = median_run(runs, lambda r: float(r["seconds"]))
            if "error" in run:
                rows.append({"observations": size, "error": run["error"]})
                continue
            steps = run["steps"]
            validate = sum(
                steps.get(s, 0.0) for s in ("reading coding sheets", "building the graph", "validating (SHACL)")
            )
            row = {"observations": size, "triples": run["triples"], "inferred": run["inferred"]}
            for name, seconds in (("validate", validate), ("reason", steps["reasoning"])):
                row[f"{name}_s"] = round(seconds, 2)
                row[f"{name}_rows_per_s"] = round(size / seconds) if seconds else ""
            row["count_s"] = steps["counting for comparisons"]
            row["store_rest_s"] = steps["storing"]  # the study's own graph was written during the steps before
            row |= {
                "total_s": run["all_s"],
                "python_peak_mb": run["python_peak_mb"],
                "java_peak_mb": run["java_peak_mb"],
            }
            row["steps"] = ", ".join(f"{name} {seconds} s" for name, seconds in steps.items())
            rows.append(row)
            print(row, flush=True)
    columns = (
        "observations triples inferred validate_s validate_rows_per_s reason_s reason_rows_per_s count_s "
        "store_rest_s total_s python_peak_mb java_peak_mb error"
    )
    print(save("study-load", about, rows, columns.split()))
    print("\n".join(f"{r['observations']}: {r.get('steps', r.get('error'))}" for r in rows))


REPEAT_HELP = "runs per measurement up to 10,000 observations (larger ones run once); the median is reported"


def repeated(times: int) -> Callable[[int], range]:
    """How many runs a size gets: repeats where they are cheap, one run above 10,000 observations."""
    return lambda size: range(times if size <= 10_000 else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write a generated study folder")
    gen.add_argument("folder", type=Path)
    gen.add_argument("--observations", type=int, default=100_000)
    gen.add_argument("--seed", type=int, default=1)
    load = commands.add_parser("pipeline", help="time each step of `samverkan load` on generated studies")
    load.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    load.add_argument("--repeat", type=int, default=3, help=REPEAT_HELP)
    load.add_argument("--timeout", type=float, default=4 * 3600, help="seconds a run may take")
    rsn = commands.add_parser("reasoning", help="compare HermiT, the pyoxigraph rules and owlrl by size")
    rsn.add_argument("--sizes", type=int, nargs="+", default=[500, 1_000, 2_000, 5_000, 10_000, 100_000])
    rsn.add_argument("--engines", nargs="+", default=["hermit", "rules", "owlrl"])
    rsn.add_argument("--repeat", type=int, default=3, help=REPEAT_HELP)
    rsn.add_argument("--timeout", type=float, default=1800, help="seconds a run may take")
    rsn.add_argument("--hermit-max", type=int, default=5_000, help="do not run HermiT above this many observations")
    rsn.add_argument("--owlrl-max", type=int, default=2_000, help="do not run owlrl above this many observations")
    for name in ("_reasoning", "_pipeline"):  # workers, run in a fresh process by the commands above
        worker = commands.add_parser(name)
        worker.add_argument("args", nargs="+")
    args = parser.parse_args()
    if args.command == "generate":
        print(generate(args.folder, args.observations, args.seed))
    elif args.command == "reasoning":
        limits = {"hermit": args.hermit_max, "owlrl": args.owlrl_max}
        reasoning(args.sizes, args.engines, repeated(args.repeat), limits, args.timeout)
    elif args.command == "pipeline":
        pipeline(args.sizes, repeated(args.repeat), args.timeout)
    elif args.command == "_reasoning":
        engine, folder, rows = args.args
        print(json.dumps(run_reasoning(engine, Path(folder), int(rows))))
    elif args.command == "_pipeline":
        folder, store_dir, rows = args.args
        print(json.dumps(run_pipeline(Path(folder), Path(store_dir), int(rows))))


if __name__ == "__main__":
    main()
