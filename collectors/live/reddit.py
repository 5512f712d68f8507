"""Reddit: new and hot posts of a subreddit and their top-level comments, through praw.

One :class:`RedditCollector` per subreddit (named ``reddit:<subreddit>``); all of them share
one :class:`~collectors.live.reddit_client.RedditClient`, because Reddit counts requests per
OAuth client id, not per subreddit. Posts and comments become documents in
:mod:`collectors.parsers.reddit`, the same reading the dump importer uses.

Politeness, explicitly:

- A poll makes at most ``2 * ceil(limit / 100)`` listing requests (new and hot), stops
  paging ``new`` after the page holding a post it already saw, and fetches comments for at most
  ``limit`` posts: only posts that are new to it or whose comment count grew since their
  comments were last fetched. Posts left over wait for the next poll (the cursor says which).
- The client's :class:`~collectors.live.reddit_client.RateQuota` refuses a poll that would need
  more requests than Reddit has left, or that comes before the reset a 429 asked for.

One listing failing does not cost the other: when ``hot`` answers 404 after ``new`` was read
(or ``new`` fails on its second page), the posts already read are kept, the failure becomes a
warning, and the failed listing's place in the cursor stays where it was, so the next poll
reads what this one missed. Only when no listing answered at all does the poll fail.

Crash safety: the cursor (see :class:`RedditCursor`) only records posts whose documents are
in the same result, and the runner stores it after the documents, so a poll that dies is
simply repeated; document ids come from permalinks, so repeating is idempotent.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from collectors.assets import AssetTagger
from collectors.base import CollectResult, SourceError
from collectors.live.reddit_client import RedditClient, build_client, describe_error, reddit_errors
from collectors.parsers.reddit import (
    comment_document,
    reddit_document,
    submission_document,
    thing_fields,
)
from collectors.registry import CollectOptions
from core.records import Document, IngestWarning
from core.settings import HttpSettings, RedditSettings
from core.times import utcnow

log = logging.getLogger(__name__)

LISTINGS = ("new", "hot")
PAGE_SIZE = 100  # Reddit returns at most 100 things per listing request
COMMENT_SORT = "new"  # the most recent reactions first: what a sentiment index wants
MAX_SEEN = 1000  # fullnames kept per listing in the cursor
CURSOR_VERSION = 1
# A listing failing for these reasons fails every other request of the poll too.
STOP_REASONS = frozenset({"auth-failed", "forbidden"})


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


# --- one poll -----------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class _Listing:
    """One listing as read: its posts (also those read before it failed), its new mark, and
    why it failed (None when it was read in full)."""

    kind: str
    posts: list[Any]
    mark: ListingMark
    error: tuple[str, str, bool] | None = None  # (reason, detail, transient)


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
            listings = self._listings(state, poll)
            posts: dict[str, Any] = {}
            for listing in listings:
                for post in listing.posts:
                    posts.setdefault(post.fullname, post)
            post_docs = self._post_documents(posts, poll)
            # Reddit just failed us for a reason that passes (429, 5xx, timeout): comment
            # pages would fail the same way, so they wait for the next poll.
            struggling = any(x.error is not None and x.error[2] for x in listings)
            budget = 0 if struggling else allowed - 2 * pages
            fetched = self._comments(post_docs, posts, state, budget, poll)
        # A listing that failed keeps its old mark: what it did not read is read next time.
        marks = dict(state.listings)
        marks.update({x.kind: x.mark for x in listings if x.error is None})
        new_cursor = RedditCursor(marks, _merge_counts(fetched, state.comments, posts))
        return CollectResult(
            documents=tuple(poll.documents),
            warnings=tuple(poll.warnings),
            cursor=new_cursor.to_json(),
            extra={"requests": poll.requests, "ratelimit": self.client.quota.as_dict()},
        )

    def _listings(self, state: RedditCursor, poll: _Poll) -> list[_Listing]:
        """Read ``new`` then ``hot``; a failure is a warning as long as anything answered.

        Raises :class:`SourceError` (the first failure's reason) when no listing answered.
        """
        sub = self.client.reddit.subreddit(self.subreddit)
        listings: list[_Listing] = []
        for kind in LISTINGS:
            listing = self._listing(sub, kind, state.listings.get(kind), poll)
            listings.append(listing)
            if listing.error is not None:
                reason, _, transient = listing.error
                if transient or reason in STOP_REASONS:
                    break
        answered = [x for x in listings if x.error is None or x.posts]
        failed = [x for x in listings if x.error is not None]
        if not answered:
            reason, detail, _ = failed[0].error or ("crash", "", False)
            raise SourceError(self.name, reason, f"/r/{self.subreddit}/{failed[0].kind}: {detail}")
        read = sum(len(x.posts) for x in listings)
        for x in failed:
            reason, detail, _ = x.error or ("crash", "", False)
            poll.warn(
                reason,
                f"/r/{self.subreddit}/{x.kind}: {detail}; the {read} post(s) read are kept and "
                f"{x.kind} is read again next poll",
            )
        return listings

    def _listing(self, sub: Any, kind: str, mark: ListingMark | None, poll: _Poll) -> _Listing:
        """The posts of one listing (``new`` is newest first), read until it ends or fails.

        ``new`` stops paging after the page that holds a post seen in the previous poll:
        everything below it was listed then. The rest of that page is kept (it cost nothing
        and may hold threads whose comments are still due).
        """
        mark = mark or ListingMark()
        previously = set(mark.seen)
        page = min(self.settings.limit, PAGE_SIZE)
        listed: list[Any] = []
        reached_seen = False
        try:
            things = iter(getattr(sub, kind)(limit=self.settings.limit))
            # Checked before asking for the next post: at a page boundary praw would fetch.
            while not (reached_seen and len(listed) % page == 0):
                post = next(things, None)
                if post is None:
                    break
                listed.append(post)
                reached_seen = reached_seen or (kind == "new" and post.fullname in previously)
        except reddit_errors() as err:
            poll.requests += math.ceil(len(listed) / page) + 1
            return _Listing(kind, listed, mark, describe_error(err))
        poll.requests += max(1, math.ceil(len(listed) / page))
        if kind == "new" and previously and not reached_seen and len(listed) >= self.settings.limit:
            poll.warn(
                "listing-gap",
                f"/r/{self.subreddit}/new: more than {self.settings.limit} posts since the last "
                "poll; older ones were not fetched (raise reddit.limit or poll more often)",
            )
        return _Listing(kind, listed, _advance(mark, kind, listed))

    def _post_documents(self, posts: Mapping[str, Any], poll: _Poll) -> dict[str, Document]:
        """Documents of the listed posts; a post that cannot be read is a warning."""
        docs: dict[str, Document] = {}
        for fullname, post in posts.items():
            try:
                doc = submission_document(
                    thing_fields(post), source=self.name, ingested_at=poll.now, tagger=self.tagger
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
                len(wanted) - max(0, budget),
                budget,
            )
        fetched: dict[str, int] = {}
        for fullname in wanted[: max(0, budget)]:
            doc = post_docs[fullname]
            try:
                poll.requests += 1
                comments = top_level_comments(posts[fullname], limit)
            except reddit_errors() as err:
                reason, detail, transient = describe_error(err)
                poll.warn(reason, f"comments of {fullname}: {detail}")
                if transient:
                    break
                continue
            for comment in comments:
                self._add_comment(comment, doc, poll)
            fetched[fullname] = int(doc.metadata.get("num_comments") or 0)
        return fetched

    def _add_comment(self, comment: Any, post: Document, poll: _Poll) -> None:
        data = thing_fields(comment)
        try:
            doc = comment_document(
                data,
                source=self.name,
                ingested_at=poll.now,
                tagger=self.tagger,
                post_assets=post.assets,
            )
        except (KeyError, TypeError, ValueError) as err:
            ident = data.get("id", "?")
            poll.warn("bad-comment", f"t1_{ident}: {type(err).__name__}: {err}"[:500])
            return
        if doc is not None:
            poll.documents.append(doc)


def _advance(mark: ListingMark, kind: str, listed: Sequence[Any]) -> ListingMark:
    """The listing's mark after reading ``listed`` in full."""
    created = [thing_fields(p).get("created_utc") for p in listed]
    newest = max((float(c) for c in created if c is not None), default=mark.newest_utc)
    if mark.newest_utc is not None and newest is not None:
        newest = max(newest, mark.newest_utc)
    names = [p.fullname for p in listed]
    # ``new`` remembers older names too (its stop mark); ``hot`` is re-read in full anyway.
    seen = tuple(dict.fromkeys(names + list(mark.seen)))[:MAX_SEEN] if kind == "new" else ()
    return ListingMark(newest, seen or tuple(names))


def _merge_counts(
    fetched: Mapping[str, int], previous: Mapping[str, int], listed: Mapping[str, Any]
) -> dict[str, int]:
    """Comment counts for the next cursor: this poll's fetches, then earlier counts of posts
    still listed, then the other earlier ones, at most ``MAX_SEEN`` in all."""
    merged = dict(fetched)
    for fullname, count in sorted(previous.items(), key=lambda kv: kv[0] not in listed):
        merged.setdefault(fullname, count)
    return dict(list(merged.items())[:MAX_SEEN])


def build_collectors(
    reddit: RedditSettings, http: HttpSettings, tagger: AssetTagger, options: CollectOptions
) -> list[RedditCollector]:
    """``options.subreddit``: that subreddit only; otherwise ``reddit.subreddits``.

    Without credentials Reddit is skipped (logged, no error): the rest of the service works
    without it.
    """
    if not reddit.configured:
        log.warning(
            "Reddit skipped: no credentials (set CRYPTOSENSE_REDDIT__CLIENT_ID and "
            "CRYPTOSENSE_REDDIT__CLIENT_SECRET; see docs/reddit.md)"
        )
        return []
    names = [options.subreddit] if options.subreddit else list(reddit.subreddits)
    names = [_subreddit_name(n) for n in names]
    client = build_client(reddit, http)
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
    now = ingested_at or utcnow()
    docs: list[Document] = []
    for thing in things:
        doc = reddit_document(thing_fields(thing), source=source, ingested_at=now, tagger=tagger)
        if doc is not None:
            docs.append(doc)
    return docs
