"""Reddit: new and hot posts of a subreddit and their top-level comments, through praw.

One :class:`RedditCollector` per subreddit (named ``reddit:<subreddit>``); all of them share
one :class:`RedditClient`, because Reddit counts requests per OAuth client id (100 a minute,
averaged over ten minutes), not per subreddit.

Politeness, explicitly:

- A poll makes at most ``2 * ceil(limit / 100)`` listing requests (new and hot), stops
  paging ``new`` after the page holding a post it already saw, and fetches comments for at most
  ``limit`` posts: only posts that are new to it or whose comment count grew since their
  comments were last fetched. Posts left over wait for the next poll (the cursor says which).
- prawcore reads ``X-Ratelimit-*`` and spaces requests itself. The client also keeps the
  latest figures: a poll that would need more requests than Reddit has left, or that comes
  before the reset a 429 asked for, fails at once with ``rate-limited`` instead of sleeping
  inside the scheduler (which would starve the other sources).

Crash safety: the cursor (see :class:`RedditCursor`) only records posts whose documents are
in the same result, and the runner stores it after the documents, so a poll that dies is
simply repeated; document ids come from permalinks, so repeating is idempotent.

Scraped text is untrusted data: titles, self-texts and comments pass through
:mod:`collectors.text` (HTML rendered by Reddit is parsed to plain text, scripts dropped)
and are never interpreted.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from collectors.assets import AssetTagger
from collectors.base import CollectResult, SourceError
from collectors.text import clean_text, detect_language, single_line, to_text
from core.records import Document, IngestWarning, SourceFamily
from core.times import utcnow

if TYPE_CHECKING:
    import praw

    from collectors.registry import CollectOptions
    from core.settings import HttpSettings, RedditSettings, Settings

log = logging.getLogger(__name__)

# Canonical links always use the public site, whichever endpoint (proxy, replay) served them,
# so a post has the same document id however it was fetched.
REDDIT_WEB = "https://www.reddit.com"
LISTINGS = ("new", "hot")
PAGE_SIZE = 100  # Reddit returns at most 100 things per listing request
COMMENT_SORT = "new"  # the most recent reactions first: what a sentiment index wants
GONE_BODIES = frozenset({"[deleted]", "[removed]"})
MAX_SEEN = 1000  # fullnames kept per listing in the cursor
DEFAULT_BLOCK_S = 60.0  # how long a 429 without any reset hint keeps us away
MAX_AUTHOR = 100
CURSOR_VERSION = 1


# --- the HTTP session praw uses -----------------------------------------------------------------


@dataclass
class RateQuota:
    """Reddit's latest rate-limit figures for one client id, read from every response.

    ``remaining`` requests are left until ``reset_at`` (monotonic seconds); a 429 sets
    ``blocked_until``. Filled by a requests response hook, so prawcore stays untouched.
    """

    remaining: float | None = None
    used: int | None = None
    reset_at: float | None = None
    blocked_until: float | None = None
    clock: Any = field(default=time.monotonic, repr=False)

    def observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """requests ``response`` hook: remember the ``X-Ratelimit-*`` figures."""
        del args, kwargs
        headers = response.headers
        now = self.clock()
        reset = _float(headers.get("x-ratelimit-reset"))
        if reset is not None:
            self.reset_at = now + reset
        remaining = _float(headers.get("x-ratelimit-remaining"))
        if remaining is not None:
            self.remaining = remaining
            used = _float(headers.get("x-ratelimit-used"))
            self.used = int(used) if used is not None else self.used
        if response.status_code == 429:
            waits = [w for w in (_float(headers.get("retry-after")), reset) if w is not None]
            self.blocked_until = now + (max(waits) if waits else DEFAULT_BLOCK_S)

    def seconds_to_reset(self) -> float:
        return 0.0 if self.reset_at is None else max(0.0, self.reset_at - self.clock())

    def check(self, source: str, needed: int) -> int:
        """How many requests this poll may make (at most ``needed``); raises ``rate-limited``
        when Reddit asked us to wait or too little is left to fetch the listings."""
        now = self.clock()
        if self.blocked_until is not None and now < self.blocked_until:
            wait = self.blocked_until - now
            raise SourceError(
                source, "rate-limited", f"Reddit answered 429; waiting {wait:.0f}s more"
            )
        if self.remaining is None or self.reset_at is None or now >= self.reset_at:
            return needed
        return max(0, min(needed, int(self.remaining)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "remaining": self.remaining,
            "used": self.used,
            "reset_s": round(self.seconds_to_reset(), 1) if self.reset_at is not None else None,
        }


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class RedditHttpSession(requests.Session):
    """The requests session praw talks through.

    ``trust_env`` is off (no proxies or netrc picked up from the environment: the endpoints
    are settings), every request gets our timeout (prawcore otherwise passes its own 16 s
    constant), and a response hook feeds :class:`RateQuota`.
    """

    def __init__(self, timeout_s: float, quota: RateQuota) -> None:
        super().__init__()
        self.trust_env = False
        self.timeout_s = timeout_s
        self.hooks["response"].append(quota.observe)

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs["timeout"] = self.timeout_s
        return super().request(method, url, *args, **kwargs)


@dataclass
class RedditClient:
    """One praw client per OAuth client id, shared by every subreddit's collector.

    praw is not thread-safe, so a poll holds ``lock`` for its whole duration.
    """

    reddit: praw.Reddit
    quota: RateQuota
    lock: threading.Lock = field(default_factory=threading.Lock)


def build_client(reddit: RedditSettings, http: HttpSettings) -> RedditClient:
    """A read-only praw client on the configured endpoints (Reddit, a proxy or a replay)."""
    import praw

    if not reddit.configured:
        raise ValueError("Reddit needs reddit.client_id and reddit.client_secret")
    quota = RateQuota()
    session = RedditHttpSession(http.timeout_s, quota)
    client = praw.Reddit(
        client_id=reddit.client_id,
        client_secret=reddit.client_secret,
        user_agent=reddit.user_agent,
        # prawcore joins API paths to oauth_url (a trailing slash keeps a proxy's path
        # prefix) and appends "/api/v1/access_token" to reddit_url (so none there).
        oauth_url=reddit.oauth_url.rstrip("/") + "/",
        reddit_url=reddit.reddit_url.rstrip("/"),
        short_url=reddit.short_url.rstrip("/"),
        check_for_updates=False,
        requestor_kwargs={"session": session, "timeout": http.timeout_s},
    )
    client.read_only = True
    return RedditClient(client, quota)


# --- the cursor ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingMark:
    """Where a listing stood after the last stored poll."""

    newest_utc: float | None = None
    seen: tuple[str, ...] = ()


@dataclass(frozen=True)
class RedditCursor:
    """``listings``: per listing (new, hot) the newest ``created_utc`` and the fullnames seen;
    ``comments``: per post fullname, the comment count when its comments were last fetched.

    Stored as JSON by the runner after the documents it describes.
    """

    listings: Mapping[str, ListingMark] = field(default_factory=dict)
    comments: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> RedditCursor:
        """Read a stored cursor; one from another version or damaged starts afresh (safe:
        it only means re-fetching, and writes are idempotent)."""
        if not raw:
            return cls()
        try:
            if raw.get("v") != CURSOR_VERSION:
                raise ValueError(f"cursor version {raw.get('v')!r}")
            listings = {
                str(kind): ListingMark(
                    newest_utc=float(m["newest_utc"]) if m.get("newest_utc") is not None else None,
                    seen=tuple(str(x) for x in m.get("seen", ())),
                )
                for kind, m in dict(raw.get("listings") or {}).items()
            }
            comments = {str(k): int(v) for k, v in dict(raw.get("comments") or {}).items()}
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            log.warning("reddit cursor unreadable (%s); starting afresh", err)
            return cls()
        return cls(listings, comments)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": CURSOR_VERSION,
            "listings": {
                kind: {"newest_utc": m.newest_utc, "seen": list(m.seen)}
                for kind, m in self.listings.items()
            },
            "comments": dict(self.comments),
        }


# --- things -> documents ------------------------------------------------------------------------


def _attrs(thing: Any) -> dict[str, Any]:
    """The attributes Reddit sent. Reading ``vars`` instead of ``getattr`` matters: a missing
    attribute on a lazy praw object triggers a network fetch."""
    return vars(thing)


def _created(data: Mapping[str, Any]) -> datetime:
    value = data.get("created_utc")
    if value is None:
        raise ValueError("no created_utc")
    return datetime.fromtimestamp(float(value), UTC)


def _author(data: Mapping[str, Any]) -> str | None:
    author = data.get("author")
    if author is None:
        return None
    name = single_line(clean_text(str(author)))[:MAX_AUTHOR]
    return None if not name or name in GONE_BODIES else name


def _text(data: Mapping[str, Any], html_key: str, markdown_key: str) -> str:
    """Reddit's rendered HTML when present (markdown syntax resolved), else the markdown."""
    rendered = data.get(html_key)
    if rendered:
        return to_text(str(rendered), is_html=True)
    return to_text(str(data.get(markdown_key) or ""), is_html=False)


def _is_gone(data: Mapping[str, Any], body_key: str) -> bool:
    """Deleted by its author or removed by moderators, admins or the spam filter."""
    if data.get("removed_by_category"):
        return True
    return str(data.get(body_key) or "").strip() in GONE_BODIES


def _language(title: str, text: str, metadata: dict[str, Any]) -> str | None:
    lang = detect_language(f"{title}. {text}" if title and text else title or text)
    if lang is not None and lang != "en":
        metadata["non_english"] = True
    return lang


def _link(permalink: str) -> str:
    return REDDIT_WEB + "/" + permalink.lstrip("/")


def submission_document(
    post: Any, *, source: str, ingested_at: datetime, tagger: AssetTagger
) -> Document | None:
    """A post as a document, or None when it was deleted or removed.

    Raises ``ValueError``/``KeyError`` for a post without the fields every post has; the
    collector turns that into a warning for this post only.
    """
    data = _attrs(post)
    if _is_gone(data, "selftext"):
        return None
    fullname = f"t3_{data['id']}"
    title = single_line(to_text(str(data.get("title") or ""), is_html=False))
    text = _text(data, "selftext_html", "selftext")
    if not title and not text:
        raise ValueError("no title and no text")
    permalink = data.get("permalink") or f"/comments/{data['id']}/"
    metadata: dict[str, Any] = {
        "score": int(data.get("score") or 0),
        "num_comments": int(data.get("num_comments") or 0),
        "upvote_ratio": data.get("upvote_ratio"),
        "subreddit": str(data.get("subreddit") or ""),
        "is_comment": False,
        "parent_id": None,
        "flair": _flair(data.get("link_flair_text")),
    }
    if not data.get("is_self", True) and data.get("url"):
        metadata["link_url"] = str(data["url"])
    return Document.build(
        source=source,
        family=SourceFamily.REDDIT,
        url=_link(str(permalink)),
        source_id=fullname,
        title=title,
        text=text,
        author=_author(data),
        published_at=_created(data),
        ingested_at=ingested_at,
        assets=tagger.tag(f"{title}\n{text}"),
        lang=_language(title, text, metadata),
        metadata=metadata,
    )


def comment_document(
    comment: Any,
    *,
    source: str,
    ingested_at: datetime,
    tagger: AssetTagger,
    post_assets: tuple[str, ...] = (),
) -> Document | None:
    """A comment as a document, or None when it was deleted or removed.

    A comment that names no asset inherits its post's assets: "to the moon" under a post
    about SOL is about SOL.
    """
    data = _attrs(comment)
    if _is_gone(data, "body"):
        return None
    text = _text(data, "body_html", "body")
    if not text:
        return None
    link_id = str(data.get("link_id") or "")
    permalink = data.get("permalink") or (
        f"/comments/{link_id.removeprefix('t3_')}/_/{data['id']}/"
    )
    metadata: dict[str, Any] = {
        "score": int(data.get("score") or 0),
        "subreddit": str(data.get("subreddit") or ""),
        "is_comment": True,
        "parent_id": data.get("parent_id"),
        "link_id": link_id or None,
        "flair": _flair(data.get("author_flair_text")),
    }
    return Document.build(
        source=source,
        family=SourceFamily.REDDIT,
        url=_link(str(permalink)),
        source_id=f"t1_{data['id']}",
        title="",
        text=text,
        author=_author(data),
        published_at=_created(data),
        ingested_at=ingested_at,
        assets=tagger.tag(text) or post_assets,
        lang=_language("", text, metadata),
        metadata=metadata,
    )


def _flair(value: Any) -> str | None:
    text = single_line(clean_text(str(value))) if value else ""
    return text or None


def top_level_comments(post: Any, limit: int) -> list[Any]:
    """Up to ``limit`` top-level comments of ``post``, newest first, in one request.

    ``more`` stubs (the "load more comments" links) are skipped rather than expanded: each
    would cost another request.
    """
    from praw.models import MoreComments

    post.comment_sort = COMMENT_SORT
    post.comment_limit = limit
    post.add_fetch_param("depth", "1")
    comments = [c for c in post.comments if not isinstance(c, MoreComments)]
    return comments[:limit]


# --- errors -------------------------------------------------------------------------------------


def _describe_error(err: Exception) -> tuple[str, str, bool]:
    """(reason, detail, transient) for an exception raised by praw or prawcore."""
    from praw.exceptions import PRAWException
    from prawcore import exceptions as pc

    if isinstance(err, pc.TooManyRequests):
        headers = err.response.headers
        hints = [
            f"{name} {headers[name]}"
            for name in ("retry-after", "x-ratelimit-reset", "x-ratelimit-remaining")
            if name in headers
        ]
        return "rate-limited", "HTTP 429" + (f" ({', '.join(hints)})" if hints else ""), True
    if isinstance(err, pc.ServerError):
        status = err.response.status_code
        return f"http-{status}", f"Reddit answered {status} (after prawcore's retries)", True
    if isinstance(err, pc.RequestException):
        return _describe_transport(err.original_exception)
    if isinstance(err, pc.Redirect):
        return "not-found", f"redirected to {err.path} (no such subreddit?)", False
    if isinstance(err, pc.BadJSON):
        return "bad-json", f"HTTP {err.response.status_code} body is not JSON", False
    if isinstance(err, pc.OAuthException):
        return "auth-failed", f"token request refused: {err}", False
    if isinstance(err, pc.ResponseException):
        status = err.response.status_code
        reason = {401: "auth-failed", 403: "forbidden", 404: "not-found"}.get(status)
        return reason or f"http-{status}", f"Reddit answered {status}", False
    if isinstance(err, PRAWException):
        return "client-error", str(err)[:300], False
    return "crash", f"{type(err).__name__}: {err}"[:300], False


def _describe_transport(exc: Exception) -> tuple[str, str, bool]:
    if isinstance(exc, requests.Timeout):
        return "timeout", f"no answer in time ({type(exc).__name__})", True
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "truncated-body", "the connection closed before the body was complete", True
    if isinstance(exc, requests.ConnectionError):
        return "connect-error", str(exc)[:200], True
    return "request-error", f"{type(exc).__name__}: {exc}"[:200], True


def _reddit_errors() -> tuple[type[Exception], ...]:
    from praw.exceptions import PRAWException
    from prawcore.exceptions import PrawcoreException

    return (PrawcoreException, PRAWException)


@contextmanager
def _as_source_error(source: str, what: str) -> Iterator[None]:
    """prawcore/praw failures of a whole request -> :class:`SourceError` with a clear reason."""
    try:
        yield
    except _reddit_errors() as err:
        reason, detail, _ = _describe_error(err)
        raise SourceError(source, reason, f"{what}: {detail}") from None


# --- the collector ------------------------------------------------------------------------------


@dataclass
class _Poll:
    """What one poll has gathered so far."""

    source: str
    now: datetime
    documents: list[Document] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)
    requests: int = 0

    def warn(self, reason: str, detail: str) -> None:
        self.warnings.append(
            IngestWarning(source=self.source, reason=reason, detail=detail, at=self.now)
        )


class RedditCollector:
    """New and hot posts of one subreddit and their top-level comments."""

    def __init__(
        self,
        subreddit: str,
        *,
        client: RedditClient,
        settings: RedditSettings,
        tagger: AssetTagger,
    ) -> None:
        self.subreddit = subreddit
        self.name = f"reddit:{subreddit}"
        self.interval_s = settings.interval_s
        self.client = client
        self.settings = settings
        self.tagger = tagger

    def collect(self, cursor: Mapping[str, Any]) -> CollectResult:
        state = RedditCursor.parse(cursor)
        poll = _Poll(self.name, utcnow())
        with self.client.lock:
            pages = math.ceil(self.settings.limit / PAGE_SIZE)
            allowed = self.client.quota.check(self.name, 2 * pages + self.settings.limit)
            if allowed < 2 * pages:
                raise SourceError(
                    self.name,
                    "rate-limited",
                    f"{allowed} requests left before Reddit's reset in "
                    f"{self.client.quota.seconds_to_reset():.0f}s; a poll needs {2 * pages}",
                )
            sub = self.client.reddit.subreddit(self.subreddit)
            posts: dict[str, Any] = {}
            marks: dict[str, ListingMark] = {}
            for kind in LISTINGS:
                listed, marks[kind] = self._listing(sub, kind, state.listings.get(kind), poll)
                for post in listed:
                    posts.setdefault(post.fullname, post)
            post_docs = self._post_documents(posts, poll)
            fetched = self._comments(post_docs, posts, state, allowed - 2 * pages, poll)
        new_cursor = RedditCursor(marks, _merge_counts(fetched, state.comments, posts))
        return CollectResult(
            documents=tuple(poll.documents),
            warnings=tuple(poll.warnings),
            cursor=new_cursor.to_json(),
            extra={"requests": poll.requests, "ratelimit": self.client.quota.as_dict()},
        )

    def _listing(
        self, sub: Any, kind: str, mark: ListingMark | None, poll: _Poll
    ) -> tuple[list[Any], ListingMark]:
        """The posts of one listing (``new`` is newest first).

        ``new`` stops paging after the page that holds a post seen in the previous poll:
        everything below it was listed then. The rest of that page is kept (it cost nothing
        and may hold threads whose comments are still due).
        """
        mark = mark or ListingMark()
        previously = set(mark.seen)
        page = min(self.settings.limit, PAGE_SIZE)
        listed: list[Any] = []
        reached_seen = False
        with _as_source_error(self.name, f"/r/{self.subreddit}/{kind}"):
            things = iter(getattr(sub, kind)(limit=self.settings.limit))
            # Checked before asking for the next post: at a page boundary praw would fetch.
            while not (reached_seen and len(listed) % page == 0):
                post = next(things, None)
                if post is None:
                    break
                listed.append(post)
                reached_seen = reached_seen or (kind == "new" and post.fullname in previously)
        poll.requests += max(1, math.ceil(len(listed) / page))
        if kind == "new" and previously and not reached_seen and len(listed) >= self.settings.limit:
            poll.warn(
                "listing-gap",
                f"/r/{self.subreddit}/new: more than {self.settings.limit} posts since the last "
                "poll; older ones were not fetched (raise reddit.limit or poll more often)",
            )
        created = [_attrs(p).get("created_utc") for p in listed]
        newest = max((float(c) for c in created if c is not None), default=mark.newest_utc)
        if mark.newest_utc is not None and newest is not None:
            newest = max(newest, mark.newest_utc)
        names = [p.fullname for p in listed]
        # ``new`` remembers older names too (its stop mark); ``hot`` is re-read in full anyway.
        seen = tuple(dict.fromkeys(names + list(mark.seen)))[:MAX_SEEN] if kind == "new" else ()
        return listed, ListingMark(newest, seen or tuple(names))

    def _post_documents(self, posts: Mapping[str, Any], poll: _Poll) -> dict[str, Document]:
        """Documents of the listed posts; a post that cannot be read is a warning."""
        docs: dict[str, Document] = {}
        for fullname, post in posts.items():
            try:
                doc = submission_document(
                    post, source=self.name, ingested_at=poll.now, tagger=self.tagger
                )
            except (KeyError, TypeError, ValueError) as err:
                poll.warn("bad-submission", f"{fullname}: {type(err).__name__}: {err}"[:500])
                continue
            if doc is not None:
                docs[fullname] = doc
                poll.documents.append(doc)
        return docs

    def _comments(
        self,
        post_docs: Mapping[str, Document],
        posts: Mapping[str, Any],
        state: RedditCursor,
        budget: int,
        poll: _Poll,
    ) -> dict[str, int]:
        """Fetch top-level comments of the posts that need it, within ``budget`` requests.

        Returns ``{post fullname: comment count}`` for the posts whose comments are now in
        the result. A post-level failure (post gone, bad JSON) is a warning; a transient
        one (429, 5xx, timeout) stops fetching for this poll, keeping what arrived.
        """
        limit = self.settings.comments_per_post
        if limit == 0:
            return {}
        wanted = [
            fullname
            for fullname, doc in post_docs.items()
            if int(doc.metadata.get("num_comments") or 0) > state.comments.get(fullname, 0)
        ]
        if len(wanted) > budget:
            log.info(
                "%s: comments of %d posts wait for a later poll (request budget %d)",
                self.name,
                len(wanted) - budget,
                budget,
            )
        fetched: dict[str, int] = {}
        for fullname in wanted[: max(0, budget)]:
            doc = post_docs[fullname]
            try:
                poll.requests += 1
                comments = top_level_comments(posts[fullname], limit)
            except _reddit_errors() as err:
                reason, detail, transient = _describe_error(err)
                poll.warn(reason, f"comments of {fullname}: {detail}")
                if transient:
                    break
                continue
            for comment in comments:
                self._add_comment(comment, doc, poll)
            fetched[fullname] = int(doc.metadata.get("num_comments") or 0)
        return fetched

    def _add_comment(self, comment: Any, post: Document, poll: _Poll) -> None:
        try:
            doc = comment_document(
                comment,
                source=self.name,
                ingested_at=poll.now,
                tagger=self.tagger,
                post_assets=post.assets,
            )
        except (KeyError, TypeError, ValueError) as err:
            ident = _attrs(comment).get("id", "?")
            poll.warn("bad-comment", f"t1_{ident}: {type(err).__name__}: {err}"[:500])
            return
        if doc is not None:
            poll.documents.append(doc)


def _merge_counts(
    fetched: Mapping[str, int], previous: Mapping[str, int], listed: Mapping[str, Any]
) -> dict[str, int]:
    """Comment counts for the next cursor: this poll's fetches, then earlier counts of posts
    still listed, then the other earlier ones, at most ``MAX_SEEN`` in all."""
    merged = dict(fetched)
    for fullname, count in sorted(previous.items(), key=lambda kv: kv[0] not in listed):
        merged.setdefault(fullname, count)
    return dict(list(merged.items())[:MAX_SEEN])


def build_collectors(settings: Settings, options: CollectOptions) -> list[RedditCollector]:
    """``options.subreddit``: that subreddit only; otherwise ``settings.reddit.subreddits``.

    Without credentials Reddit is skipped (logged, no error): the rest of the service works
    without it.
    """
    reddit = settings.reddit
    if not reddit.configured:
        log.warning(
            "Reddit skipped: no credentials (set CRYPTOSENSE_REDDIT__CLIENT_ID and "
            "CRYPTOSENSE_REDDIT__CLIENT_SECRET; see docs/reddit.md)"
        )
        return []
    names = [options.subreddit] if options.subreddit else list(reddit.subreddits)
    names = [_subreddit_name(n) for n in names]
    client = build_client(reddit, settings.http)
    tagger = AssetTagger.from_settings(settings)
    return [RedditCollector(n, client=client, settings=reddit, tagger=tagger) for n in names]


def _subreddit_name(raw: str) -> str:
    """``r/Bitcoin``, ``/r/Bitcoin/`` and ``Bitcoin`` all name r/Bitcoin."""
    name = raw.strip().strip("/")
    name = name.removeprefix("r/").removeprefix("R/")
    if not name or not all(c.isalnum() or c == "_" for c in name) or len(name) > 21:
        raise ValueError(f"{raw!r} is not a subreddit name (letters, digits, _; up to 21)")
    return name


def documents_from_listing(
    things: Sequence[Any], *, source: str, tagger: AssetTagger, ingested_at: datetime | None = None
) -> list[Document]:
    """Documents of already-fetched praw things (posts or comments), skipping gone ones."""
    from praw.models import Comment

    now = ingested_at or utcnow()
    docs: list[Document] = []
    for thing in things:
        build = comment_document if isinstance(thing, Comment) else submission_document
        doc = build(thing, source=source, ingested_at=now, tagger=tagger)
        if doc is not None:
            docs.append(doc)
    return docs
