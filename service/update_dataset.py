"""The dataset of a SPARQL Update sent over the protocol: `using-graph-uri`/`using-named-graph-uri` written
into the update as USING clauses (https://www.w3.org/TR/sparql11-protocol/#update-dataset).
"""

from __future__ import annotations

from service.sparql_lexer import Token, tokens
from service.store import Dataset


class DatasetConflict(ValueError):
    """The protocol names a dataset and the update names its own (USING or WITH)."""


def with_protocol_dataset(update: str, dataset: Dataset) -> str:
    """The update with `using-graph-uri`/`using-named-graph-uri` written into it as USING clauses.

    Oxigraph's update takes no dataset argument, so `USING <g>`/`USING NAMED <g>` go before the WHERE of
    every DELETE/INSERT operation (the WHERE keywords outside any braces); `DELETE WHERE {P}`, which
    cannot take USING, is spelled out as the equivalent `DELETE {P} USING … WHERE {P}`.
    """
    if not dataset.given:
        return update
    items = tokens(update)
    if any(token.is_word("USING", "WITH") for token in items):
        raise DatasetConflict(
            "The request names a dataset with using-graph-uri/using-named-graph-uri and the update names its "
            "own with USING or WITH; use one or the other."
        )
    clause = " ".join(
        [f"USING <{g}>" for g in dataset.default_graphs] + [f"USING NAMED <{g}>" for g in dataset.named_graphs]
    )
    insertions: list[tuple[int, str]] = []
    depth = 0
    for i, token in enumerate(items):
        depth += (token.text == "{") - (token.text == "}") if token.kind == "other" else 0
        if depth != 0 or not token.is_word("WHERE"):
            continue
        if i > 0 and items[i - 1].is_word("DELETE") and items[i + 1 : i + 2] and items[i + 1].text == "{":
            closing = _closing_brace(items, i + 1)
            pattern = update[items[i + 1].start : items[closing].start + 1]
            insertions.append((token.start, f"{pattern} {clause} "))
        else:
            insertions.append((token.start, f"{clause} "))
    for position, text in reversed(insertions):
        update = update[:position] + text + update[position:]
    return update


def _closing_brace(items: list[Token], opening: int) -> int:
    """The index of the `}` that closes the `{` at items[opening] (the last token if none: the parser says so)."""
    depth = 0
    for index in range(opening, len(items)):
        if items[index].kind == "other":
            depth += (items[index].text == "{") - (items[index].text == "}")
            if depth == 0:
                return index
    return len(items) - 1
