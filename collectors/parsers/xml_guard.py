"""The DOCTYPE guard every feed passes before an XML parser sees it.

Feeds are untrusted XML. Before feedparser reads one, its DOCTYPE is replaced by one that
declares only short literal entities (``&nbsp;`` style); dropped are external entities
(``SYSTEM``/``PUBLIC``, e.g. ``file:///etc/passwd``), parameter entities, entities that
reference other entities (billion laughs) or are long (quadratic blow-up), and the external
DTD subset. References to dropped entities are removed with them.

The guard must see every DOCTYPE a parser would see, so the prolog scan skips what may stand
before it: whitespace, comments, processing instructions and any number of byte-order marks
(a doubled UTF-8 BOM survives decoding as U+FEFF and would otherwise hide the DOCTYPE from
the guard while the parser, which ignores it, reads the entities).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Entities kept in a DTD: literal, at most this long, at most this many.
MAX_ENTITY_VALUE = 64
MAX_ENTITIES = 256
BOM = "\ufeff"

_ENTITY_DECL = re.compile(
    r"""<!ENTITY\s+(%\s+)?([^\s"'>%]+)\s+(?:(SYSTEM|PUBLIC)\b|"([^"]*)"|'([^']*)')""",
    re.IGNORECASE,
)
_SAFE_ENTITY_NAME = re.compile(r"\w+")
_CHAR_REF = re.compile(r"&#(?:\d+|x[0-9a-fA-F]+);")
_ENTITY_REF = re.compile(r"&([^\s;&#<>\"']+);")
_PREDEFINED_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_ROOT_NAME = re.compile(r"<([A-Za-z_][\w:.-]*)")
_DOCTYPE_NAME = re.compile(r"<!DOCTYPE\s+([A-Za-z_][\w.:-]*)(?=[\s\[>])", re.IGNORECASE)


def prolog(text: str) -> tuple[list[tuple[int, int]], str | None]:
    """Where the DOCTYPE declarations are (one in valid XML; a hostile document may repeat it)
    and the root element's name.

    Comments, processing instructions, whitespace and byte-order marks may come before
    either; the scan stops at the root element, so nothing inside the document is mistaken
    for a DOCTYPE.
    """
    doctypes: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace() or text[i] == BOM:
            i += 1
        elif text.startswith("<?", i):
            j = text.find("?>", i + 2)
            if j < 0:
                break
            i = j + 2
        elif text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            if j < 0:
                break
            i = j + 3
        elif text[i : i + 9].upper() == "<!DOCTYPE":
            doctypes.append((i, _doctype_end(text, i + 9)))
            i = doctypes[-1][1]
        else:
            root = _ROOT_NAME.match(text, i)
            return doctypes, root.group(1) if root else None
    return doctypes, None


def _doctype_end(text: str, i: int) -> int:
    """Index just after the DOCTYPE's closing ``>``, honouring quotes, the internal subset and
    comments inside it; the end of the text if it never closes."""
    quote: str | None = None
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if quote is not None:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif depth and text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            i = n if j < 0 else j + 3
            continue
        elif c == "[":
            depth += 1
        elif c == "]":
            depth = max(0, depth - 1)
        elif c == ">" and depth == 0:
            return i + 1
        i += 1
    return n


@dataclass
class _EntityReport:
    external: list[str] = field(default_factory=list)
    expanding: list[str] = field(default_factory=list)


def guard_dtd(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Replace the document's DOCTYPE by one that declares only safe entities, and remove the
    references to the entities it dropped.

    Returns the new text and ``(reason, detail)`` pairs for what was removed. The external DTD
    subset (``<!DOCTYPE rss SYSTEM "http://...">``) is dropped silently: it is common and
    harmless once nothing fetches it, and this guarantees nothing does.
    """
    spans, _root = prolog(text)
    if not spans:
        return text, []
    report = _EntityReport()
    safe: list[tuple[str, str]] = []
    name = "feed"
    for k, (start, end) in enumerate(spans):
        doctype = text[start:end]
        if k == 0 and (name_match := _DOCTYPE_NAME.match(doctype)):
            name = name_match.group(1)
        lo, hi = doctype.find("["), doctype.rfind("]")
        subset = doctype[lo + 1 : hi] if 0 <= lo < hi else ""
        for m in _ENTITY_DECL.finditer(subset):
            param, ent, external = m.group(1), m.group(2), m.group(3)
            value = m.group(4) if m.group(4) is not None else m.group(5)
            if external:
                report.external.append(ent)
            elif k > 0 or param or value is None or not _is_safe_entity(ent, value):
                report.expanding.append(ent)
            elif len(safe) < MAX_ENTITIES:
                safe.append((ent, value))
    replacement = ""
    if safe:
        decls = "\n".join(f'<!ENTITY {k} "{v}">' for k, v in safe)
        replacement = f"\n<!DOCTYPE {name} [\n{decls}\n]>"
    problems: list[tuple[str, str]] = []
    if report.external:
        problems.append(
            (
                "xml-external-entity",
                f"{len(report.external)} external entit(ies) removed, not fetched: "
                + ", ".join(report.external[:5]),
            )
        )
    if report.expanding:
        problems.append(
            (
                "xml-entity-expansion",
                f"{len(report.expanding)} expanding or oversized entit(ies) removed: "
                + ", ".join(report.expanding[:5]),
            )
        )
    body = text[spans[-1][1] :]
    removed = set(report.external + report.expanding) - _PREDEFINED_ENTITIES
    if removed:
        # References to removed entities would be undefined: drop them with the declarations.
        body = _ENTITY_REF.sub(lambda m: "" if m.group(1) in removed else m.group(0), body)
    return text[: spans[0][0]] + replacement + body, problems


def _is_safe_entity(name: str, value: str) -> bool:
    """A literal that cannot expand: no references except one character reference, no
    markup, short enough that many references to it stay small."""
    if not _SAFE_ENTITY_NAME.fullmatch(name) or len(value) > MAX_ENTITY_VALUE:
        return False
    if _CHAR_REF.fullmatch(value):
        return True
    return not any(c in value for c in '&%<"')
