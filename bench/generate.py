"""Collaboration data shaped like ours, at any scale, for the side-by-side benchmark (bench/peers.py).

    python bench/generate.py 100k bench/data/100k      # about 100,000 triples

The folder gets the real ontology, vocabularies and reference list (290 municipalities, 21 counties) plus
generated studies: focus groups, partner actors typed by the ontology's classes, collaborations with
participants, participations, forms, topics, goals and governance tools from the vocabularies, and coded
observations with quotes, as service/ingest/study.py writes them. Every study sits in one graph
(graph/study/bench), so each system loads the same few files. Output, for loaders of every kind:
one N-Triples file per graph, `all.nq` with everything, and `manifest.json` (graphs, files, counts, studies).
The data is fictional and deterministic (seeded).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.ingest import read_rdf  # noqa: E402
from service.ingest.counts import study_counts  # noqa: E402
from service.ingest.reasoning import infer  # noqa: E402
from service.ingest.reference import reference_triples  # noqa: E402
from service.ingest.schema import Schema  # noqa: E402
from service.namespaces import (  # noqa: E402
    BASE,
    GRAPH_ONTOLOGY,
    GRAPH_REFERENCE,
    GRAPH_VOCABULARIES,
    ID,
    ONTOLOGY,
    counts_graph,
    study_graph,
)

STUDY_GRAPH = study_graph("bench")
COUNTS_GRAPH = counts_graph("bench")  # the studies' comparison table, made as a study load makes it
STUDIES = 4  # studies side by side, so the comparison query has something to compare
OBSERVATIONS_PER_COLLABORATION = (1, 6)
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
PROV = "http://www.w3.org/ns/prov#"
SKOS_IN_SCHEME = "http://www.w3.org/2004/02/skos/core#inScheme"
SCHEMES = {"form": "samverkansform", "topic": "sakomrade", "goal": "mal", "governanceTool": "styrmedel"}
ROLES = ("part", "ledande-aktor", "finansiar", "medlem", "agare", "bestallare", "utforare")
PARTNER_CLASSES = (  # the ontology's actor classes, as the study loader types partners
    ("Company",),
    ("NonProfitOrganisation",),
    ("HigherEducationInstitution", "StateAgency"),
    ("Region",),
    ("StateAgency",),
    ("Kommunalforbund",),
    ("MunicipalCompany",),
)
QUOTE_TEXT = (
    "vi samverkar om kompetensförsörjning med högskolan och följer upp avtalet varje år men budgeten är "
    "gemensam och styrgruppen träffas varje kvartal för att ta beslut om nästa steg i förbundet där "
    "ägardirektivet styr bolaget och nätverket delar erfarenheter om krisberedskap och socialtjänst"
)


def parse_scale(text: str) -> int:
    """'10k', '1M' or a plain number of triples."""
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1].lower(), 1)
    try:
        return int(float(text[:-1] if factor > 1 else text) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of triples like 10k, 100k or 1M") from None


def iri(value: str) -> str:
    return f"<{value}>"


def literal(value: str, language: str | None = None, datatype: str | None = None) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if language:
        return f'"{escaped}"@{language}'
    return f'"{escaped}"^^<{datatype}>' if datatype else f'"{escaped}"'


class Studies:
    """Generated studies as N-Triples lines, until a triple budget is spent."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        vocabularies = read_rdf(ROOT / "ontology" / "vocabularies.ttl", base_iri=BASE)
        self.concepts = {
            prop: sorted(
                t.subject.value
                for t in vocabularies
                if t.predicate.value == SKOS_IN_SCHEME and t.object.value == f"{ID}scheme/{scheme}"
            )
            for prop, scheme in SCHEMES.items()
        }
        self.municipalities = sorted(
            t.subject.value
            for t in reference_triples(
                ROOT / "data" / "reference" / "lan.csv", ROOT / "data" / "reference" / "kommuner.csv"
            )
            if t.predicate.value == RDF + "type" and t.object.value == ONTOLOGY + "Municipality"
        )
        self.studies = [f"{ID}study/bench-{n}" for n in range(1, STUDIES + 1)]
        self.defined: set[str] = set()
        self.words = QUOTE_TEXT.split()

    def line(self, s: str, p: str, o: str) -> str:
        return f"{iri(s)} {iri(p)} {o} .\n"

    def named(self, node: str, classes: tuple[str, ...], label: str) -> Iterator[str]:
        if node in self.defined:
            return
        self.defined.add(node)
        for cls in classes:
            yield self.line(node, RDF + "type", iri(cls if ":" in cls else ONTOLOGY + cls))
        yield self.line(node, RDFS + "label", literal(label, "sv"))

    def study_header(self, number: int) -> Iterator[str]:
        study = self.studies[number]
        yield from self.named(study, ("Study",), f"Benchmarkstudie {number + 1} (fiktiv)")
        yield self.line(study, ONTOLOGY + "startYear", literal(str(2010 + number), datatype=XSD + "gYear"))
        yield self.line(study, ONTOLOGY + "fictional", literal("true", datatype=XSD + "boolean"))

    def partner(self) -> tuple[str, Iterator[str]]:
        """A municipality (half the time) or one of a pool of other actors, shared by all studies."""
        if self.random.random() < 0.5:
            return self.random.choice(self.municipalities), iter(())
        number = self.random.randrange(2_000)
        node = f"{ID}org/bench-{number}"
        classes = PARTNER_CLASSES[number % len(PARTNER_CLASSES)]
        lines = list(self.named(node, classes, f"Exempelaktör {number} (fiktiv)"))
        if lines:
            lines.append(self.line(node, ONTOLOGY + "organisationsnummer", literal(f"559{number:03d}-{number:04d}")))
        return node, iter(lines)

    def collaboration(self, number: int) -> Iterator[str]:
        rnd = self.random
        study_number = number % STUDIES
        study = self.studies[study_number]
        collab = f"{ID}collaboration/bench/{number}"
        yield from self.named(collab, ("Collaboration",), f"Samverkan {number} (fiktiv)")
        yield self.line(collab, ONTOLOGY + "startYear", literal(str(rnd.randrange(1995, 2024)), datatype=XSD + "gYear"))
        # Each study favours some forms, so the comparison query finds differences.
        forms = self.concepts["form"]
        form = forms[(study_number * 3 + int(rnd.expovariate(0.7))) % len(forms)]
        codes = [("form", form)]
        codes += [("topic", c) for c in rnd.sample(self.concepts["topic"], rnd.randint(1, 2))]
        codes += [("goal", c) for c in rnd.sample(self.concepts["goal"], rnd.randint(1, 3))]
        codes += [("governanceTool", c) for c in rnd.sample(self.concepts["governanceTool"], rnd.randint(1, 3))]
        for prop, concept in codes:
            yield self.line(collab, ONTOLOGY + prop, iri(concept))
        home = rnd.choice(self.municipalities)
        members = [home]
        for _ in range(rnd.randint(1, 4)):
            partner, lines = self.partner()
            yield from lines
            if partner not in members:
                members.append(partner)
        yield self.line(collab, ONTOLOGY + "leadActor", iri(rnd.choice(members)))
        for n, member in enumerate(members):
            participation = f"{collab}/participation/{n}"
            yield self.line(collab, ONTOLOGY + "participant", iri(member))
            yield self.line(collab, ONTOLOGY + "hasParticipation", iri(participation))
            yield self.line(participation, RDF + "type", iri(ONTOLOGY + "Participation"))
            yield self.line(participation, ONTOLOGY + "participationOf", iri(member))
            yield self.line(participation, ONTOLOGY + "role", iri(f"{ID}concept/aktorsroll/{rnd.choice(ROLES)}"))
        source = f"{study}/focusgroup/{number % 12}"
        yield from self.named(source, ("FocusGroup",), f"Fokusgrupp {number % 12} (fiktiv)")
        for o in range(rnd.randint(*OBSERVATIONS_PER_COLLABORATION)):
            observation = f"{ID}observation/bench/{number}-{o}"
            yield self.line(observation, RDF + "type", iri(ONTOLOGY + "CodedObservation"))
            yield self.line(observation, ONTOLOGY + "inStudy", iri(study))
            yield self.line(observation, PROV + "wasGeneratedBy", iri(source))
            yield self.line(observation, ONTOLOGY + "describes", iri(collab))
            yield self.line(observation, ONTOLOGY + "coder", iri(f"{ID}person/bench-coder-{o % 3}"))
            quote = " ".join(rnd.choices(self.words, k=rnd.randint(8, 20))).capitalize() + "."
            yield self.line(observation, ONTOLOGY + "quote", literal(quote, "sv"))
            for prop, concept in rnd.sample(codes, min(2, len(codes))):
                yield self.line(observation, ONTOLOGY + prop, iri(concept))

    def lines(self, budget: int) -> Iterator[str]:
        for number in range(STUDIES):
            yield from self.study_header(number)
        number = 0
        spent = 0
        while spent < budget:
            for line in self.collaboration(number):
                spent += 1
                yield line
            number += 1


def ntriples(triples: list[ox.Triple]) -> str:
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")  # type: ignore[union-attr]


def generate(triples: int, folder: Path, seed: int = 2011) -> dict[str, object]:
    """Write the data set of about `triples` triples to `folder`; returns the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    base = {
        GRAPH_ONTOLOGY: ntriples(read_rdf(ROOT / "ontology" / "samverkan.ttl", base_iri=BASE)),
        GRAPH_VOCABULARIES: ntriples(read_rdf(ROOT / "ontology" / "vocabularies.ttl", base_iri=BASE)),
        GRAPH_REFERENCE: ntriples(
            reference_triples(ROOT / "data" / "reference" / "lan.csv", ROOT / "data" / "reference" / "kommuner.csv")
        ),
    }
    files: dict[str, dict[str, object]] = {}
    with (folder / "all.nq").open("w", encoding="utf-8") as quads:
        for graph, text in base.items():
            name = graph.rsplit("/", 1)[-1] + ".nt"
            (folder / name).write_text(text, encoding="utf-8")
            lines = text.splitlines(keepends=True)
            quads.writelines(f"{line[:-3]} <{graph}> .\n" for line in lines)
            files[graph] = {"file": name, "triples": len(lines)}
        budget = max(0, triples - sum(int(str(f["triples"])) for f in files.values()))
        count = 0
        with (folder / "studies.nt").open("w", encoding="utf-8") as study_file:
            for line in Studies(seed).lines(budget):
                study_file.write(line)
                quads.write(f"{line[:-3]} <{STUDY_GRAPH}> .\n")
                count += 1
        files[STUDY_GRAPH] = {"file": "studies.nt", "triples": count}
        schema = Schema(ROOT)
        # Counted as a load counts: on the reasoner's store (the rules: HermiT would take hours at this size).
        studies = [quad.triple for quad in ox.parse(path=folder / "studies.nt", format=ox.RdfFormat.N_TRIPLES)]
        reasoned = infer(schema.graph, studies, hermit_max_triples=0).store
        table = study_counts("bench", reasoned, schema.counts_structure)
        text = ntriples(table)
        (folder / "counts.nt").write_text(text, encoding="utf-8")
        quads.writelines(f"{line[:-3]} <{COUNTS_GRAPH}> .\n" for line in text.splitlines(keepends=True))
        files[COUNTS_GRAPH] = {"file": "counts.nt", "triples": len(table)}
    manifest = {
        "triples": sum(int(str(f["triples"])) for f in files.values()),
        "seed": seed,
        "graphs": files,
        "studies": [f"{ID}study/bench-{n}" for n in range(1, STUDIES + 1)],
        "lookup_municipality": "1980",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scale", type=parse_scale, help="about how many triples: 10k, 100k, 1M, …")
    parser.add_argument("folder", type=Path, help="where to write the files")
    parser.add_argument("--seed", type=int, default=2011)
    args = parser.parse_args()
    manifest = generate(args.scale, args.folder, args.seed)
    print(f"{manifest['triples']:,} triples in {args.folder}")


if __name__ == "__main__":
    main()
