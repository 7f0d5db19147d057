"""Coding sheets (CSV or XLSX) read into rows of text, numbered as a spreadsheet shows them (header = row 1).

Everything that makes a sheet unreadable is collected, not raised one at a time, so a researcher sees every
problem of every sheet at once.
"""

from __future__ import annotations

import csv
import datetime
import difflib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rdflib import URIRef

from service.ingest import DataFileError

COLUMNS = (
    "observation",
    "source",
    "municipality",
    "collaboration",
    "partner",
    "partner_type",
    "partner_orgnr",
    "form",
    "topic",
    "goals",
    "governance_tools",
    "lead_actor",
    "period",
    "quote",
    "location",
    "coder",
)
REQUIRED = ("observation", "source", "municipality", "partner", "partner_type", "form", "coder")
SHEET_SUFFIXES = (".csv", ".xlsx")
# Spreadsheet files we cannot read, with what to do instead.
OTHER_SPREADSHEETS = (".xls", ".xlsm", ".ods", ".numbers", ".tsv")
SAVE_AS = "save it as .xlsx or as 'CSV UTF-8' (in Excel: Save as → CSV UTF-8)"


@dataclass(frozen=True)
class Row:
    """One coded observation as written: its file, its row number, and the text of each known column.

    A row read from a REFI-QDA project also says which selection it is (`place`, named in messages instead of
    the row number) and carries the study's own codes it was coded with (IRIs of its own SKOS scheme).
    """

    path: Path
    number: int
    cells: dict[str, str]
    place: str | None = None
    study_codes: tuple[URIRef, ...] = ()

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def error(self, column: str, message: str) -> DataFileError:
        return DataFileError(self.path, message, row=self.number, column=column, place=self.place)


@dataclass
class SheetContents:
    rows: list[Row]
    problems: list[DataFileError]


def sheet_files(folder: Path) -> tuple[list[Path], list[DataFileError]]:
    """The coding sheets in a study folder, sorted; spreadsheet files of other kinds are problems (a crosswalk,
    *.sssom.tsv, is no sheet)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    sheets = [p for p in files if p.suffix.lower() in SHEET_SUFFIXES]
    problems = [
        DataFileError(p, f"coding sheets must be .csv or .xlsx files; {SAVE_AS}")
        for p in files
        if p.suffix.lower() in OTHER_SPREADSHEETS and not p.name.lower().endswith(".sssom.tsv")
    ]
    return sheets, problems


def read_sheets(paths: Iterable[Path]) -> SheetContents:
    contents = SheetContents([], [])
    for path in paths:
        try:
            table = _read_xlsx(path) if path.suffix.lower() == ".xlsx" else _read_csv(path)
        except DataFileError as error:
            contents.problems.append(error)
            continue
        except _MergedCells as merged:
            contents.problems += merged.problems
            continue
        rows, problems = _rows(path, table)
        contents.rows += rows
        contents.problems += problems
    return contents


Table = list[tuple[int, list[str]]]
"""Numbered rows of cell texts; the first is the header."""


def _read_csv(path: Path) -> Table:
    """UTF-8 (with or without BOM), delimiter ',' or ';' (or tab) as the header row uses it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataFileError(path, f"cannot be read ({error.strerror})") from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataFileError(
            path,
            f"is not UTF-8 text: byte 0x{data[error.start]:02X} on line {line} is not valid UTF-8 (the file is "
            f"probably Latin-1/Windows-1252, which Excel writes for plain 'CSV'); {SAVE_AS}",
        ) from error
    if not text.strip():
        raise DataFileError(path, f"is empty; a coding sheet needs a header row ({', '.join(REQUIRED)}, …)")
    header_line = text.lstrip().splitlines()[0]
    delimiter = max((";", ",", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [(number, cells) for number, cells in enumerate(reader, start=1)]
    except csv.Error as error:
        raise DataFileError(path, f"is not valid CSV: {error}", row=reader.line_num) from error


def _read_xlsx(path: Path) -> Table:
    """The first worksheet; merged cells are refused (they leave every cell but the first empty)."""
    import openpyxl
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise DataFileError(path, f"is not an Excel workbook (.xlsx) that can be read; {SAVE_AS}") from error
    except OSError as error:
        raise DataFileError(path, f"cannot be read ({error.strerror})") from error
    sheet = workbook.worksheets[0]
    header = [_cell_text(cell.value) for cell in next(sheet.iter_rows(min_row=1, max_row=1), ())]
    merged = sorted(sheet.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col))
    if merged:
        problems = [
            DataFileError(
                path,
                f"cells {r.coord} in worksheet '{sheet.title}' are merged; unmerge them and write the value in "
                f"every cell (a merged cell is empty in all rows but its first)",
                row=r.min_row,
                column=_column_name(header, r.min_col - 1) or get_column_letter(r.min_col),
            )
            for r in merged
        ]
        raise _MergedCells(problems)
    return [
        (number, [_cell_text(value) for value in values])
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
    ]


class _MergedCells(Exception):
    """A worksheet with merged cells: one problem per merged range."""

    def __init__(self, problems: list[DataFileError]) -> None:
        super().__init__(problems)
        self.problems = problems


def _cell_text(value: object) -> str:
    """A cell's value as the text a CSV would hold: 2019.0 → "2019", a date → "2019-03-01"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()


def _column_name(header: list[str], index: int) -> str | None:
    name = header[index].strip().casefold() if index < len(header) else ""
    return name if name in COLUMNS else None


def _rows(path: Path, table: Table) -> tuple[list[Row], list[DataFileError]]:
    """Rows keyed by column name; checks the header (missing, unknown, repeated columns) and stray cells."""
    problems: list[DataFileError] = []
    table = [(n, cells) for n, cells in table if any(c.strip() for c in cells)]
    if not table:
        return [], [DataFileError(path, f"is empty; a coding sheet needs a header row ({', '.join(REQUIRED)}, …)")]
    header_number, header = table[0]
    columns: dict[int, str] = {}
    for index, raw in enumerate(header):
        name = raw.strip().casefold()
        if not name or name.startswith("#"):
            continue  # a notes column (or none): its cells are not read
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(
                DataFileError(
                    path,
                    f"unknown column '{raw.strip()}'; {hint}columns are {', '.join(COLUMNS)} "
                    "(start a column's name with # to keep notes in it)",
                    row=header_number,
                )
            )
        elif name in columns.values():
            problems.append(DataFileError(path, f"column '{name}' appears twice", row=header_number, column=name))
        else:
            columns[index] = name
    missing = [c for c in REQUIRED if c not in columns.values()]
    if missing:
        problems.append(
            DataFileError(path, f"missing column(s) {', '.join(missing)}; required are {', '.join(REQUIRED)}")
        )
    if len(table) == 1:
        problems.append(DataFileError(path, "has a header row but no observations below it"))
    if problems:
        return [], problems

    rows = []
    for number, cells in table[1:]:
        stray = [i for i, c in enumerate(cells) if c.strip() and i not in columns and not _is_note(header, i)]
        if stray:
            problems.append(
                DataFileError(path, f"cell {stray[0] + 1} of this row has a value but no column name", row=number)
            )
        rows.append(
            Row(path, number, {name: cells[i].strip() if i < len(cells) else "" for i, name in columns.items()})
        )
    return rows, problems


def _is_note(header: list[str], index: int) -> bool:
    return index < len(header) and header[index].strip().startswith("#")
