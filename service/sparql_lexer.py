"""SPARQL text as tokens: the one lexer for the checks that must read a query or update without parsing it.

Used for a query's dataset clause and form (service/store.py), the URLs a query or update would make the
server fetch (service/fetch_policy.py), and where an update's WHERE clause starts (service/update_dataset.py).
Strings, IRIs and comments are whole tokens, so a keyword inside one is never taken for code, and the
character classes are those of the SPARQL 1.1 grammar (section 19.8), so a token ends where Oxigraph's
parser ends it (`ex:a.SERVICE` is one prefixed name; `?load` a variable; `"x"@load` a language tag).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urljoin

_BASE_CHARS = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d\u2070-\u218f"
    "\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_NAME_CHARS = _BASE_CHARS + r"_\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PN_CHARS = f"[{_NAME_CHARS}]"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_PN_PREFIX = rf"[{_BASE_CHARS}](?:(?:{_PN_CHARS}|\.)*{_PN_CHARS})?"
_PN_LOCAL = rf"(?:[{_BASE_CHARS}_:0-9]|{_PLX})(?:(?:{_PN_CHARS}|[.:]|{_PLX})*(?:{_PN_CHARS}|:|{_PLX}))?"
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"

_TOKEN = re.compile(
    r'(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n\r]|\\.)*"'
    r"|'(?:[^'\\\n\r]|\\.)*')"
    rf"|(?P<iri><(?:[^<>\"{{}}|^`\\\x00-\x20]|{_UCHAR})*>)"
    r"|(?P<comment>#[^\n\r]*)"
    rf"|(?P<var>[?$][{_BASE_CHARS}_0-9][{_NAME_CHARS}]*)"
    rf"|(?P<bnode>_:[{_BASE_CHARS}_0-9](?:(?:{_PN_CHARS}|\.)*{_PN_CHARS})?)"
    rf"|(?P<pname>(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?)"
    r"|(?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)"
    r"|(?P<word>[A-Za-z_]\w*)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.DOTALL,
)
_LOCAL_ESCAPE = re.compile(r"\\(.)")


class Token(NamedTuple):  # a tuple: queries are tokenised on every request, so tokens must be cheap
    kind: str  # string, iri, var, bnode, pname, langtag, word or other (one character: { } . ; …)
    text: str
    start: int  # position in the text

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


def tokens(sparql: str) -> list[Token]:
    """Every token but whitespace and comments, in order."""
    return [
        Token(match.lastgroup or "other", match.group(), match.start())
        for match in _TOKEN.finditer(sparql)
        if match.lastgroup not in ("space", "comment")
    ]


def _mentions(sparql: str, words: tuple[str, ...]) -> bool:
    """Whether the words occur at all: a keyword cannot be written with escapes, so without them the
    text need not be tokenised."""
    upper = sparql.upper()
    return any(word in upper for word in words)


def has_keyword(sparql: str, *words: str) -> bool:
    return _mentions(sparql, words) and any(token.is_word(*words) for token in tokens(sparql))


def iri_value(token: Token) -> str:
    """The IRI an IRIREF token stands for, with `\\u`/`\\U` escapes decoded (Oxigraph decodes them too)."""
    return re.sub(_UCHAR, lambda m: chr(int(m.group()[2:], 16)), token.text[1:-1])


@dataclass(frozen=True)
class Target:
    keyword: str  # e.g. SERVICE or LOAD
    iri: str | None  # the absolute IRI after the keyword; None when it is not an IRI (a variable, nothing)
    written: str  # what follows the keyword, as written


def keyword_targets(sparql: str, keywords: tuple[str, ...], base_iri: str | None = None) -> list[Target]:
    """The IRI after each of the keywords (and after SILENT), resolved as the parser resolves it: prefixed
    names by the PREFIX declarations before it, relative IRIs by the BASE before it (else `base_iri`)."""
    if not _mentions(sparql, keywords):
        return []
    base = base_iri
    prefixes: dict[str, str] = {}
    found = []
    items = tokens(sparql)

    def resolve(iri: str) -> str:
        return urljoin(base, iri) if base else iri

    for i, token in enumerate(items):
        following = items[i + 1 : i + 4]
        if token.is_word("BASE") and following[:1] and following[0].kind == "iri":
            base = resolve(iri_value(following[0]))
        elif token.is_word("PREFIX") and len(following) >= 2 and following[0].kind == "pname":
            if following[1].kind == "iri":
                prefixes[following[0].text[:-1]] = resolve(iri_value(following[1]))
        elif token.is_word(*keywords):
            if following[:1] and following[0].is_word("SILENT"):
                following = following[1:]
            target = following[0] if following else Token("end", "", len(sparql))
            iri = None
            if target.kind == "iri":
                iri = resolve(iri_value(target))
            elif target.kind == "pname" and target.text.split(":", 1)[0] in prefixes:
                prefix, local = target.text.split(":", 1)
                iri = prefixes[prefix] + _LOCAL_ESCAPE.sub(r"\1", local)
            found.append(Target(token.text.upper(), iri, target.text))
    return found
