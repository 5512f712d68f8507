"""Reddit things (submissions and comments) as documents: the one reading of Reddit's JSON.

The live collector (:mod:`collectors.live.reddit`, praw objects whose attributes are the JSON
Reddit sent) and the archive importer (:mod:`collectors.importers.archive`, Pushshift-style
dump lines holding the same JSON) both call this module, so a thing gets the same document,
and above all the same id, whichever way it arrived. Only what the caller knows differs: when
it was ingested, and (live only) the assets of the post a comment answers.

Rules, each chosen so that both paths agree:

- Deleted and removed things are skipped (None): the body is one of :data:`GONE_MARKERS`, or
  Reddit gives a ``removed_by_category``. An author with a gone marker is no author.
- Reddit's rendered HTML (``selftext_html``, ``body_html``) is read when present, so markdown
  syntax never reaches the text; otherwise the markdown, with its HTML entities unescaped.
- ``created_utc`` is the time (seconds; milliseconds are recognised). ``created`` is not used:
  older API answers and dumps hold it in Pacific time.
- Links always use the public site, whichever endpoint served the thing (a proxy, a replay,
  old.reddit.com), so ids agree.

A thing missing what every thing has (an id, a time, any text in a post) raises
:class:`RedditThingError`; the callers turn it into a warning for that thing only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from collectors.assets import AssetTagger
from collectors.text import clean_text, flag_language, single_line, to_text
from core.records import Document, SourceFamily

REDDIT_WEB = "https://www.reddit.com"
GONE_MARKERS = frozenset({"[deleted]", "[removed]", "[deleted by user]"})
MAX_AUTHOR = 100
MAX_URL = 2000


class RedditThingError(ValueError):
    """A thing that cannot become a document; ``reason`` is a short stable code
    (``missing-id``, ``bad-date``, ``missing-text``, ``bad-field``)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def thing_fields(thing: Any) -> Mapping[str, Any]:
    """The fields Reddit sent for ``thing``: a dump's JSON object as it is, a praw object's
    attributes. Reading ``vars`` instead of ``getattr`` matters: a missing attribute on a lazy
    praw object triggers a network fetch."""
    return thing if isinstance(thing, Mapping) else vars(thing)


def is_comment(data: Mapping[str, Any]) -> bool:
    """Comments are ``t1_`` things; without a ``name``, a body and no title says comment."""
    name = str(data.get("name") or "")
    if name.startswith(("t1_", "t3_")):
        return name.startswith("t1_")
    return "body" in data and "title" not in data


def reddit_document(
    data: Mapping[str, Any], *, source: str, ingested_at: datetime, tagger: AssetTagger
) -> Document | None:
    """A submission or a comment (told apart by :func:`is_comment`) as a document, or None
    when it was deleted or removed. Used where no post is at hand (dump lines, things already
    fetched), so a comment does not inherit post assets here."""
    build = comment_document if is_comment(data) else submission_document
    return build(data, source=source, ingested_at=ingested_at, tagger=tagger)


def submission_document(
    data: Mapping[str, Any], *, source: str, ingested_at: datetime, tagger: AssetTagger
) -> Document | None:
    """A post as a document, or None when it was deleted or removed."""
    if _is_gone(data, "selftext"):
        return None
    thing_id = _thing_id(data)
    published_at = created_at(data)
    title = single_line(to_text(str(data.get("title") or ""), is_html=False))
    text = _body(data, "selftext_html", "selftext")
    if not title and not text:
        raise RedditThingError("missing-text", f"submission {thing_id} has no title and no text")
    metadata: dict[str, Any] = {
        "score": _count(data, "score"),
        "num_comments": _count(data, "num_comments"),
        "upvote_ratio": data.get("upvote_ratio"),
        "subreddit": _subreddit(data),
        "is_comment": False,
        "parent_id": None,
        "flair": _flair(data.get("link_flair_text")),
    }
    link_url = _http_url(data.get("url"))
    if not data.get("is_self", True) and link_url:
        metadata["link_url"] = link_url
    lang = flag_language(metadata, title, text)
    return Document.build(
        source=source,
        family=SourceFamily.REDDIT,
        url=_permalink(data.get("permalink")) or f"{REDDIT_WEB}/comments/{thing_id}/",
        source_id=f"t3_{thing_id}",
        title=title,
        text=text,
        author=_author(data),
        published_at=published_at,
        ingested_at=ingested_at,
        assets=tagger.tag(f"{title}\n{text}"),
        lang=lang,
        metadata=metadata,
    )


def comment_document(
    data: Mapping[str, Any],
    *,
    source: str,
    ingested_at: datetime,
    tagger: AssetTagger,
    post_assets: tuple[str, ...] = (),
) -> Document | None:
    """A comment as a document, or None when it was deleted, removed or is empty.

    A comment that names no asset inherits ``post_assets``: "to the moon" under a post about
    SOL is about SOL. Only the live path knows the post; a dump line does not.
    """
    if _is_gone(data, "body"):
        return None
    text = _body(data, "body_html", "body")
    if not text:
        return None
    thing_id = _thing_id(data)
    published_at = created_at(data)
    link_id = str(data.get("link_id") or "")
    url = _permalink(data.get("permalink"))
    if url is None and link_id:
        url = f"{REDDIT_WEB}/comments/{link_id.removeprefix('t3_')}/_/{thing_id}/"
    metadata: dict[str, Any] = {
        "score": _count(data, "score"),
        "subreddit": _subreddit(data),
        "is_comment": True,
        "parent_id": data.get("parent_id"),
        "link_id": link_id or None,
        "flair": _flair(data.get("author_flair_text")),
    }
    lang = flag_language(metadata, "", text)
    return Document.build(
        source=source,
        family=SourceFamily.REDDIT,
        url=url,
        source_id=f"t1_{thing_id}",
        title="",
        text=text,
        author=_author(data),
        published_at=published_at,
        ingested_at=ingested_at,
        assets=tagger.tag(text) or post_assets,
        lang=lang,
        metadata=metadata,
    )


def created_at(data: Mapping[str, Any]) -> datetime:
    """``created_utc`` as an aware UTC time; raises :class:`RedditThingError` ``bad-date``."""
    value = data.get("created_utc")
    if value is None or isinstance(value, bool):
        raise RedditThingError("bad-date", "no created_utc")
    try:
        seconds = float(value)
        if seconds > 1e11:  # milliseconds, as some dump tools write them
            seconds /= 1000.0
        if not seconds > 0:
            raise ValueError("not after 1970")
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise RedditThingError(
            "bad-date", f"created_utc {str(value)[:40]!r} is not a plausible time"
        ) from None


def _thing_id(data: Mapping[str, Any]) -> str:
    thing_id = str(data.get("id") or "").strip()
    if not thing_id:
        raise RedditThingError("missing-id", "a Reddit thing without an id")
    return thing_id


def _is_gone(data: Mapping[str, Any], body_key: str) -> bool:
    """Deleted by its author or removed by moderators, admins or the spam filter."""
    if data.get("removed_by_category"):
        return True
    return str(data.get(body_key) or "").strip() in GONE_MARKERS


def _body(data: Mapping[str, Any], html_key: str, markdown_key: str) -> str:
    """Reddit's rendered HTML when present (markdown syntax resolved), else the markdown."""
    rendered = data.get(html_key)
    if rendered:
        return to_text(str(rendered), is_html=True)
    return to_text(str(data.get(markdown_key) or ""), is_html=False)


def _author(data: Mapping[str, Any]) -> str | None:
    author = data.get("author")
    if author is None:
        return None
    name = single_line(clean_text(str(author)))[:MAX_AUTHOR]
    return None if not name or name in GONE_MARKERS else name


def _subreddit(data: Mapping[str, Any]) -> str:
    return str(data.get("subreddit") or "").strip()


def _count(data: Mapping[str, Any], key: str) -> int:
    """A score or comment count; a value that is no number is a broken thing, not a zero."""
    value = data.get(key)
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RedditThingError("bad-field", f"{key} {str(value)[:40]!r} is not a number") from None


def _flair(value: Any) -> str | None:
    text = single_line(clean_text(str(value))) if value else ""
    return text or None


def _http_url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value.startswith(("http://", "https://")) and len(value) <= MAX_URL else None


def _permalink(value: object) -> str | None:
    """The public link for a permalink: relative (``/r/x/comments/...``, the API's form) or
    absolute on any Reddit host."""
    if not isinstance(value, str) or not value.strip():
        return None
    link = value.strip()
    if link.startswith(("http://", "https://")):
        parts = urlsplit(link)
        host = (parts.hostname or "").lower()
        if host != "reddit.com" and not host.endswith(".reddit.com"):
            return _http_url(link)
        link = parts.path
    return f"{REDDIT_WEB}/{link.lstrip('/')}"
