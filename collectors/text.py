"""Text normalisation shared by every source (RSS, Reddit, news pages, archives).

Scraped text is untrusted data: it is turned into plain text once, at the edge, so nothing
downstream ever sees markup, scripts, ``javascript:`` links, control characters or
mojibake. The functions here are the only place where that happens, so two sources that
carry the same story produce the same text (and the same content hash).

- :func:`decode_bytes`: bytes with an undeclared or wrong charset -> ``str``.
- :func:`html_to_text`: an HTML fragment or page -> plain text (scripts and styles dropped).
- :func:`clean_text`: plain text -> entities unescaped, scripts URLs and control characters
  removed, whitespace collapsed.
- :func:`to_text`: either of the two above, chosen by the caller or by a look at the value.
- :func:`detect_language`: ISO 639-1 code, or None when the text is too short to tell.
- :func:`flag_language`: a document's language, with the ``non_english`` flag every source
  sets the same way.
"""

from __future__ import annotations

import codecs
import html
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import charset_normalizer
import lxml.html
from lxml import etree

log = logging.getLogger(__name__)

# Elements whose content is never readable text.
_DROP_ELEMENTS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "head",
)
# Elements after which a reader sees a line break.
_BLOCK_ELEMENTS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)

# C0/C1 control characters (tab and newline are whitespace and handled separately), zero-width
# characters and the BOM: invisible, but they would change content hashes.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")
# Script-bearing URL schemes, also when split by whitespace ("java\tscript:").
_SCRIPT_URL = re.compile(
    r"\b(?:j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t|v\s*b\s*s\s*c\s*r\s*i\s*p\s*t)\s*:\S*"
    r"|\bdata\s*:\s*text/html\S*",
    re.IGNORECASE,
)
# Leftover script blocks in text that claimed to be plain.
_SCRIPT_BLOCK = re.compile(r"<\s*(script|style)\b.*?(?:<\s*/\s*\1\s*>|$)", re.I | re.S)
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9:-]*(?:\s[^<>]*)?/?>|<!--|&[a-zA-Z]+;|&#")
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def clean_text(text: str) -> str:
    """Plain text as stored: entities unescaped, control and zero-width characters removed,
    ``javascript:``-style URLs and stray ``<script>`` blocks dropped, runs of spaces collapsed
    to one and blank lines removed (line breaks between paragraphs are kept)."""
    if not text:
        return ""
    text = html.unescape(text)
    text = _SCRIPT_BLOCK.sub(" ", text)
    text = _SCRIPT_URL.sub(" ", text)
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    return _NEWLINES.sub("\n", text).strip()


def html_to_text(markup: str) -> str:
    """Readable text of an HTML fragment or page.

    Scripts, styles, comments and other non-text elements are removed with their content;
    attributes (event handlers, ``javascript:`` links) never reach the text because only text
    nodes are kept. Block elements become line breaks so paragraphs do not run together.
    Markup that lxml cannot parse at all is treated as plain text.
    """
    if not markup or not markup.strip():
        return ""
    markup = _CONTROL.sub("", markup)
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError) as err:
        log.debug("unparseable HTML (%s), treating it as text", err)
        return clean_text(markup)
    etree.strip_elements(root, *_DROP_ELEMENTS, with_tail=False)
    etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK_ELEMENTS:
            el.tail = "\n" + (el.tail or "")
    # text_content() has already resolved entities; clean_text must not unescape a second
    # time what the author escaped on purpose ("&amp;lt;" is the literal "&lt;").
    return _clean_unescaped(root.text_content())


def _clean_unescaped(text: str) -> str:
    text = _SCRIPT_URL.sub(" ", text)
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    return _NEWLINES.sub("\n", text).strip()


def looks_like_html(value: str) -> bool:
    """True when ``value`` contains tags, comments or entities (not just a lone ``<``)."""
    return bool(_MARKUP.search(value))


def to_text(value: str | None, *, is_html: bool | None = None) -> str:
    """Plain text of ``value``: parsed as HTML when ``is_html`` says so (or, when None, when it
    contains markup), else cleaned as plain text. Feeds that say "text" but carry tags are
    common, hence the look."""
    if not value:
        return ""
    if is_html is None:
        is_html = looks_like_html(value)
    return html_to_text(value) if is_html else clean_text(value)


def single_line(text: str) -> str:
    """``text`` on one line (titles, authors): every whitespace run becomes one space."""
    return " ".join(text.split())


# --- bytes -> str -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    """Text decoded from bytes, with how: ``repaired`` is True when the declared charset was
    missing or wrong and another one had to be found (``detail`` says which)."""

    text: str
    encoding: str
    repaired: bool = False
    detail: str = ""


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def codec_name(label: str | None) -> str | None:
    """Python's canonical codec name for a charset label, or None if unknown."""
    if not label:
        return None
    try:
        return codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None


def _single_byte(codec: str) -> bool:
    try:
        return len(bytes(range(0x80, 0x100)).decode(codec, errors="replace")) == 0x80
    except (LookupError, UnicodeError):
        return False


def decode_bytes(data: bytes, declared: Iterable[str | None] = ()) -> Decoded:
    """Decode ``data`` whose charset may be undeclared or wrong.

    ``declared`` lists the claims in order of authority (e.g. the HTTP ``charset``, then an
    XML or HTML declaration). A byte-order mark wins over every claim. A claim is used when the
    bytes decode strictly under it, except that bytes which are valid, non-ASCII UTF-8 are read
    as UTF-8 even when a single-byte charset (Latin-1, windows-1252) was claimed: that label is
    the most common lie on the web and would turn every accent into mojibake. With no usable
    claim, UTF-8 is tried, then charset-normalizer's best guess, then UTF-8 with replacement
    characters (recorded as a repair).
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(codec), codec.removesuffix("-sig"))
            except UnicodeDecodeError:
                break
    claims = [c for c in (codec_name(x) for x in declared) if c]
    unknown = [x for x in declared if x and not codec_name(x)]
    utf8: str | None
    try:
        utf8 = data.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    non_ascii = not data.isascii()
    for i, codec in enumerate(claims):
        if codec == "utf-8":
            if utf8 is not None:
                return _decoded(utf8, "utf-8", i, claims, unknown)
            continue
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if utf8 is not None and non_ascii and _single_byte(codec):
            return Decoded(
                utf8, "utf-8", True, f"declared {codec} but the bytes are UTF-8; read as UTF-8"
            )
        return _decoded(text, codec, i, claims, unknown)
    said = f"declared {', '.join(claims + unknown)} did not fit; " if claims or unknown else ""
    if utf8 is not None:
        if claims or unknown:
            return Decoded(utf8, "utf-8", True, said + "read as UTF-8")
        return Decoded(utf8, "utf-8")
    best = _best_guess(data)
    if best is not None:
        return Decoded(str(best), best.encoding, True, said + f"detected {best.encoding}")
    return Decoded(
        data.decode("utf-8", errors="replace"),
        "utf-8",
        True,
        said + "no charset fits; undecodable bytes replaced",
    )


def _best_guess(data: bytes) -> Any:
    """charset-normalizer's best match, except that windows-1252 (the web's default for
    undeclared Western text) wins when it is as clean and nearly as coherent: on short texts
    its coherence scores differ by noise, and DOS code pages such as cp775 would win."""
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    for m in matches:
        if m.encoding == "cp1252" and m.chaos <= best.chaos and m.coherence >= best.coherence - 0.1:
            return m
    return best


def _decoded(text: str, codec: str, index: int, claims: list[str], unknown: list[str]) -> Decoded:
    """A claim fitted; it is a repair when an earlier (more authoritative) claim did not."""
    if index == 0 and not unknown:
        return Decoded(text, codec)
    skipped = claims[:index] + unknown
    return Decoded(text, codec, True, f"declared {', '.join(skipped)} did not fit; read as {codec}")


# --- language -----------------------------------------------------------------------------------

MIN_LANG_LETTERS = 20
MIN_LANG_WORDS = 3
MIN_LANG_PROBABILITY = 0.70

_factory_lock = threading.Lock()
_factory: Any = None
# Scripts written without spaces between words (Chinese, Japanese, Thai): no word count.
_UNSPACED_SCRIPT = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff]")
_URLISH = re.compile(r"https?://\S+|www\.\S+|[$#@]\w+")


def _detector_factory() -> Any:
    """langdetect's profiles, loaded once per process (about 1 s), with a fixed seed so the
    same text always gets the same answer. A private factory: the global one is left alone."""
    global _factory
    with _factory_lock:
        if _factory is None:
            from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

            factory = DetectorFactory()
            factory.load_profile(PROFILES_DIRECTORY)
            factory.seed = 0
            _factory = factory
        return _factory


# langdetect costs several milliseconds a text, most of the ingest time on backfills. Most
# input is plain English, which a stop-word share settles at once; the rest goes to langdetect
# on its first LANG_SAMPLE_CHARS characters (its accuracy has levelled off well before that).
LANG_SAMPLE_CHARS = 600
_EN_STOPWORDS = frozenset(
    {
        "the",
        "and",
        "of",
        "to",
        "in",
        "is",
        "for",
        "on",
        "with",
        "as",
        "at",
        "by",
        "from",
        "that",
        "this",
        "are",
        "was",
        "will",
        "has",
        "have",
        "be",
        "its",
        "it",
        "after",
        "over",
        "into",
        "their",
        "than",
        "but",
        "not",
    }
)
_WORD = re.compile(r"[A-Za-z']+")


def _clearly_english(sample: str) -> bool:
    if not sample.isascii():
        return False
    words = [w.lower() for w in _WORD.findall(sample)]
    if len(words) < 6:
        return False
    hits = [w for w in words if w in _EN_STOPWORDS]
    return len(set(hits)) >= 3 and len(hits) >= 0.15 * len(words)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text`` (``en``, ``es``, ``zh``...), or None when it is too short
    (fewer than 20 letters, or 3 words in a script that spaces its words, once URLs,
    cashtags and handles are removed) or no
    language is at least 70 % likely: a wrong guess is worse than none."""
    if not text:
        return None
    sample = _URLISH.sub(" ", text)[:2000]
    if sum(c.isalpha() for c in sample) < MIN_LANG_LETTERS:
        return None
    if len(sample.split()) < MIN_LANG_WORDS and not _UNSPACED_SCRIPT.search(sample):
        return None
    if _clearly_english(sample):
        return "en"
    from langdetect.lang_detect_exception import LangDetectException

    detector = _detector_factory().create()
    detector.append(sample[:LANG_SAMPLE_CHARS])
    try:
        best = max(detector.get_probabilities(), key=lambda lp: lp.prob, default=None)
    except LangDetectException:
        return None
    if best is None or best.prob < MIN_LANG_PROBABILITY:
        return None
    return str(best.lang).split("-")[0]


def flag_language(
    metadata: dict[str, Any], title: str, text: str = "", *, fallback: str | None = None
) -> str | None:
    """The language of a document's title and text (``fallback`` when they are too short to
    tell), recorded in ``metadata``: non-English text is kept, not dropped, but flagged
    ``non_english`` so the index can leave it to a model that reads it. A stale flag from an
    earlier reading of the document is removed."""
    lang = detect_language(f"{title}. {text}" if title and text else title or text) or fallback
    metadata.pop("non_english", None)
    if lang is not None and lang != "en":
        metadata["non_english"] = True
    return lang
