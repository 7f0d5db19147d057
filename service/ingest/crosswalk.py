"""Crosswalks: SSSOM mapping tables (`*.sssom.tsv`) from a study's own codes to our concepts.

The Simple Standard for Sharing Ontology Mappings is a TSV file whose leading `#` lines are YAML (the mapping
set's `curie_map`, `mapping_set_id`, `license`) above one mapping per row. Only the few columns a crosswalk
needs are read, so this is a small reader rather than the `sssom` package (which brings pandas and LinkML for
features we do not use). Each mapping is stored twice in the study's graph: as the SKOS triple the queries
follow (own code → our concept) and as an `sssom:Mapping` holding its provenance (justification, author,
confidence, file). Rows are numbered as the file's lines, so every problem names the line to fix.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Mapping as MappingType
from dataclasses import dataclass
from pathlib import Path

import yaml
from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, SKOS, XSD

from service.ingest import DataFileError
from service.ingest.resolve import normalise, quoted
from service.ingest.studygraph import StudyGraph
from service.ingest.validation import Origin

SSSOM = Namespace("https://w3id.org/sssom/")
SUFFIX = ".sssom.tsv"
# Prefixes every SSSOM file may use without declaring them (the standard's built-in prefixes we need).
BUILT_IN = {
    "skos": str(SKOS),
    "semapv": "https://w3id.org/semapv/vocab/",
    "sssom": str(SSSOM),
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "orcid": "https://orcid.org/",
}
PREDICATES = {p: SKOS[p] for p in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch")}
COUNTED = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch)
REQUIRED = ("predicate_id", "object_id", "mapping_justification", "author_id")


@dataclass(frozen=True)
class OwnCodes:
    """The study's own codes a mapping's subject may name: by GUID, and by name when the name is unique."""

    by_guid: MappingType[str, URIRef]
    by_name: MappingType[str, list[URIRef]]


@dataclass(frozen=True)
class CodeMapping:
    """One row of a crosswalk: an own code, a SKOS mapping predicate, one of our concepts (or a municipality or
    actor type), and where it came from."""

    subject: URIRef
    predicate: URIRef
    object: URIRef
    path: Path
    line: int


def crosswalk_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIX))


def read_crosswalk(
    path: Path, codes: OwnCodes, targets: MappingType[URIRef, str], study: StudyGraph
) -> list[CodeMapping]:
    """The mappings of one SSSOM table, added to the study's graph; its problems go to study.problems.

    `targets` are the IRIs a mapping may point to, each with how to name it in a message.
    """
    return _Table(path, codes, targets, study).read()


class _Table:
    def __init__(self, path: Path, codes: OwnCodes, targets: MappingType[URIRef, str], study: StudyGraph) -> None:
        self.path, self.codes, self.targets, self.s = path, codes, targets, study
        self.prefixes = dict(BUILT_IN)

    def problem(self, message: str, line: int | None = None, column: str | None = None) -> None:
        self.s.problems.append(DataFileError(self.path, message, row=line, column=column))

    def read(self) -> list[CodeMapping]:
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            self.problem("is not UTF-8 text; save it as UTF-8")
            return []
        except OSError as error:
            self.problem(f"cannot be read ({error.strerror})")
            return []
        lines = text.splitlines()
        header_lines = 0
        while header_lines < len(lines) and lines[header_lines].startswith("#"):
            header_lines += 1
        metadata = self._metadata("\n".join(line[1:] for line in lines[:header_lines]))
        table = list(csv.reader(io.StringIO("\n".join(lines[header_lines:])), delimiter="\t"))
        if not table:
            self.problem("has no mapping table below its # header; the first row names the columns (subject_id, …)")
            return []
        columns = [c.strip() for c in table[0]]
        missing = [c for c in REQUIRED if c not in columns]
        if "subject_id" not in columns and "subject_label" not in columns:
            missing.insert(0, "subject_id (or subject_label)")
        if missing:
            self.problem(f"missing column(s) {', '.join(missing)}", header_lines + 1)
            return []
        mapping_set = self._mapping_set(metadata)
        mappings = []
        for offset, cells in enumerate(table[1:], start=header_lines + 2):
            if not any(c.strip() for c in cells):
                continue
            row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(columns)}
            mapping = self._mapping(row, offset, mapping_set)
            if mapping is not None:
                mappings.append(mapping)
        return mappings

    def _metadata(self, text: str) -> dict[str, object]:
        try:
            data = yaml.safe_load(text) if text.strip() else {}
        except yaml.YAMLError as error:
            self.problem(f"its # header is not valid YAML: {getattr(error, 'problem', None) or error}", 1)
            return {}
        if not isinstance(data, dict):
            self.problem("its # header must hold YAML keys such as curie_map, mapping_set_id and license", 1)
            return {}
        curie_map = data.get("curie_map") or {}
        if not isinstance(curie_map, dict):
            self.problem("curie_map in the # header must map prefixes to IRIs (e.g. samv_form: https://…/)", 1)
        else:
            self.prefixes.update({str(k): str(v) for k, v in curie_map.items()})
        return data

    def _mapping_set(self, metadata: dict[str, object]) -> URIRef:
        iri = self.s.iri("mappingset", self.path.name.removesuffix(SUFFIX).lower().replace(" ", "-"))
        self.s.individual(iri, SSSOM.MappingSet, Origin(self.path, f"crosswalk '{self.path.name}'"))
        self.s.add((iri, DCTERMS.source, Literal(self.path.name)), (iri, DCTERMS.isPartOf, self.s.subject))
        if metadata.get("mapping_set_id"):
            self.s.add((iri, SSSOM.mapping_set_id, Literal(str(metadata["mapping_set_id"]))))
        if metadata.get("license"):
            self.s.add((iri, DCTERMS.license, Literal(str(metadata["license"]))))
        return iri

    def expand(self, curie: str) -> URIRef | None:
        prefix, colon, local = curie.partition(":")
        if colon and prefix in self.prefixes:
            return URIRef(self.prefixes[prefix] + local)
        if curie.startswith(("http://", "https://", "urn:")):
            return URIRef(curie)
        return None

    def _subject(self, row: dict[str, str], line: int) -> URIRef | None:
        if row.get("subject_id"):
            text = row["subject_id"]
            guid = text.removeprefix("urn:uuid:").strip("{}").upper() if text.lower().startswith("urn:uuid:") else ""
            found = self.codes.by_guid.get(guid) if guid else None
            if found is None:
                self.problem(
                    f"'{text}' is not a code of this study's own codebook; write urn:uuid: and the code's GUID "
                    "as the project file has it (or leave subject_id empty and give its name in subject_label)",
                    line,
                    "subject_id",
                )
            return found
        label = row.get("subject_label", "")
        named = self.codes.by_name.get(normalise(label), [])
        if len(named) == 1:
            return named[0]
        what = "names more than one code" if named else "is not the name of a code"
        self.problem(
            f"'{label}' {what} of this study's own codebook; give the code's GUID as subject_id (urn:uuid:…)",
            line,
            "subject_label",
        )
        return None

    def _mapping(self, row: dict[str, str], line: int, mapping_set: URIRef) -> CodeMapping | None:
        subject = self._subject(row, line)
        predicate_text = row["predicate_id"]
        predicate = PREDICATES.get(predicate_text.removeprefix("skos:"))
        if predicate is None or not predicate_text.startswith("skos:"):
            allowed = quoted(f"skos:{p}" for p in PREDICATES)
            self.problem(f"'{predicate_text}' is not a mapping predicate; use one of {allowed}", line, "predicate_id")
        object_text = row["object_id"]
        target = self.expand(object_text)
        if target is None or target not in self.targets:
            declared = quoted(p for p in self.prefixes if p not in BUILT_IN)
            hint = (
                f"declare its prefix in the # header's curie_map (declared: {declared or 'none'})"
                if target is None
                else "map to a concept of samverkansform, mål, styrmedel or sakområde, a municipality or an actor type"
            )
            self.problem(f"'{object_text}' is not one of our concepts; {hint}", line, "object_id")
            target = None
        for column in ("mapping_justification", "author_id"):
            if not row[column]:
                self.problem(f"every mapping needs its {column}", line, column)
        if subject is None or predicate is None or target is None:
            return None
        key = uuid.uuid5(uuid.NAMESPACE_URL, f"{subject} {predicate} {target}")
        node = self.s.iri("mapping", str(key))
        self.s.individual(node, SSSOM.Mapping, Origin(self.path, f"mapping on line {line}", line, "subject_id"))
        self.s.add(
            (subject, predicate, target),
            (node, SSSOM.subject_id, subject),
            (node, SSSOM.predicate_id, predicate),
            (node, SSSOM.object_id, target),
            (node, DCTERMS.isPartOf, mapping_set),
        )
        for column in ("mapping_justification", "author_id"):
            for value in row[column].split("|"):
                iri = self.expand(value.strip())
                self.s.add((node, SSSOM[column], iri if iri is not None else Literal(value.strip())))
        if row.get("confidence"):
            try:
                confidence = float(row["confidence"])
            except ValueError:
                confidence = -1.0
            if not 0 <= confidence <= 1:
                self.problem(f"'{row['confidence']}' is not a confidence between 0 and 1", line, "confidence")
            else:
                self.s.add((node, SSSOM.confidence, Literal(row["confidence"], datatype=XSD.double)))
        return CodeMapping(subject, predicate, target, self.path, line)
