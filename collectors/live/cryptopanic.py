"""CryptoPanic posts API (free developer tier): aggregated crypto news with community votes.

Why: one request brings posts from dozens of outlets, already tagged with currencies and
voted on (positive, negative, important...) by readers; both are signals the feeds lack.

* Needs ``news.cryptopanic_token``; without it the source is skipped with a log line.
* Pages are followed through ``next``, newest first, until a post at or before the cursor
  (the newest ``published_at``/``id`` seen) comes up, so re-polls fetch only what is new.
* At most :data:`MAX_PAGES` pages per poll. A poll that stops early (the page limit, or a
  later page failing) saves where it stopped as ``pending`` and says ``more``; the next poll
  continues from there before moving the cursor, so nothing between is skipped.
* The token travels only as a query parameter of each request: it is never stored in the
  cursor, never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from collectors.assets import AssetTagger
from collectors.base import Collector, CollectResult, SourceError
from collectors.http import HttpFetcher
from collectors.registry import CollectOptions
from collectors.text import flag_language, single_line, to_text
from core.records import Document, IngestWarning
from core.settings import HttpSettings, NewsSettings
from core.times import ensure_utc, utcnow

log = logging.getLogger(__name__)

SOURCE = "cryptopanic"
MAX_PAGES = 5
VOTE_KEYS = (
    "positive",
    "negative",
    "important",
    "liked",
    "disliked",
    "lol",
    "toxic",
    "saved",
    "comments",
)
_SECRET_PARAMS = frozenset({"auth_token"})


@dataclass(frozen=True, order=True)
class Mark:
    """A post's place in the newest-first order: the cursor's unit."""

    published_at: datetime
    id: int

    def dump(self) -> dict[str, Any]:
        return {"published_at": self.published_at.isoformat(), "id": self.id}

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> Mark | None:
        if not raw:
            return None
        try:
            return cls(_parse_time(str(raw["published_at"])), int(raw["id"]))
        except (KeyError, TypeError, ValueError):
            return None


def _parse_time(value: str) -> datetime:
    return ensure_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))


def _split_url(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its query, and the query without secrets (safe to store)."""
    parts = urlsplit(url)
    params = {
        k: v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _SECRET_PARAMS
    }
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), params


def _join_url(base: str, params: Mapping[str, str]) -> str:
    return f"{base}?{urlencode(sorted(params.items()))}" if params else base


@dataclass
class _Poll:
    """Progress of one chain of pages between two cursor moves."""

    next_url: str | None
    stop_at: Mark | None
    newest: Mark | None


class CryptoPanicCollector:
    """The CryptoPanic posts endpoint behind the collector interface."""

    interval_s: float

    def __init__(
        self,
        news: NewsSettings,
        http: HttpSettings,
        tagger: AssetTagger,
        *,
        fetcher: HttpFetcher | None = None,
        base_url: str | None = None,
        max_pages: int = MAX_PAGES,
    ) -> None:
        if not news.cryptopanic_token:
            raise ValueError("CryptoPanic needs news.cryptopanic_token")
        self.name = SOURCE
        self.interval_s = news.interval_s
        self._token = news.cryptopanic_token
        self.base_url = base_url or news.cryptopanic_url
        self.tagger = tagger
        self.max_pages = max_pages
        self.fetcher = fetcher or HttpFetcher(http, source=SOURCE)

    def close(self) -> None:
        self.fetcher.close()

    def collect(self, cursor: Mapping[str, Any]) -> CollectResult:
        poll = self._resume(cursor)
        documents: list[Document] = []
        warnings: list[IngestWarning] = []
        now = utcnow()
        pages = 0
        failed = False
        while poll.next_url is not None and pages < self.max_pages:
            try:
                data = self._page(poll.next_url)
            except SourceError as err:
                if pages == 0:
                    raise  # nothing came through: the source failed, the cursor stays
                # Keep the pages already read; the next poll retries this page (pending).
                warnings.append(
                    IngestWarning(source=self.name, reason=err.reason, detail=err.detail[:2000])
                )
                failed = True
                break
            pages += 1
            reached, next_url = self._read_page(data, poll, now, documents, warnings)
            poll.next_url = None if reached else next_url
        finished = poll.next_url is None
        return CollectResult(
            documents=tuple(documents),
            warnings=tuple(warnings),
            cursor=self._cursor(poll, cursor, finished),
            more=not finished and not failed,
        )

    # paging ------------------------------------------------------------------------------

    def _resume(self, cursor: Mapping[str, Any]) -> _Poll:
        pending = cursor.get("pending")
        if isinstance(pending, Mapping) and pending.get("next"):
            return _Poll(
                next_url=str(pending["next"]),
                stop_at=Mark.load(pending.get("stop_at")),
                newest=Mark.load(pending.get("newest")),
            )
        newest = Mark.load(cursor.get("newest"))
        return _Poll(next_url=self.base_url, stop_at=newest, newest=newest)

    def _cursor(self, poll: _Poll, old: Mapping[str, Any], finished: bool) -> dict[str, Any]:
        if finished:
            return {"newest": poll.newest.dump() if poll.newest else None}
        base, params = _split_url(poll.next_url or self.base_url)
        return {
            "newest": old.get("newest"),
            "pending": {
                "next": _join_url(base, params),
                "stop_at": poll.stop_at.dump() if poll.stop_at else None,
                "newest": poll.newest.dump() if poll.newest else None,
            },
        }

    def _page(self, url: str) -> Mapping[str, Any]:
        base, params = _split_url(url)
        params.setdefault("public", "true")
        res = self.fetcher.get(base, params={**params, "auth_token": self._token})
        try:
            data = json.loads(res.content)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            detail = f"{_join_url(base, params)}: {err}"
            if res.truncated:
                detail += " (body cut at the byte cap)"
            raise SourceError(self.name, "malformed-json", detail[:500]) from None
        if not isinstance(data, Mapping) or not isinstance(data.get("results"), list):
            info = data.get("info") if isinstance(data, Mapping) else None
            raise SourceError(
                self.name,
                "unexpected-response",
                f"no 'results' list{f': {info}' if info else ''}"[:500],
            )
        return data

    def _read_page(
        self,
        data: Mapping[str, Any],
        poll: _Poll,
        now: datetime,
        documents: list[Document],
        warnings: list[IngestWarning],
    ) -> tuple[bool, str | None]:
        """Add the page's new posts; True when the cursor was reached (stop paging)."""
        reached = False
        for post in data["results"]:
            mark = self._mark(post)
            if mark is None:
                warnings.append(
                    IngestWarning(
                        source=self.name,
                        reason="bad-post",
                        detail=f"post without a usable id or published_at: {_brief(post)}",
                    )
                )
                continue
            if poll.stop_at is not None and mark <= poll.stop_at:
                reached = True
                continue
            doc = self._document(post, mark, now)
            if doc is None:
                warnings.append(
                    IngestWarning(
                        source=self.name, reason="bad-post", detail=f"post {mark.id} has no title"
                    )
                )
            else:
                documents.append(doc)
            if poll.newest is None or mark > poll.newest:
                poll.newest = mark
        next_url = data.get("next")
        return reached, next_url if isinstance(next_url, str) and next_url else None

    # posts -------------------------------------------------------------------------------

    @staticmethod
    def _mark(post: Any) -> Mark | None:
        if not isinstance(post, Mapping):
            return None
        try:
            return Mark(_parse_time(str(post["published_at"])), int(post["id"]))
        except (KeyError, TypeError, ValueError):
            return None

    def _document(self, post: Mapping[str, Any], mark: Mark, now: datetime) -> Document | None:
        title = single_line(to_text(str(post.get("title") or "")))
        if not title:
            return None
        text = to_text(str(post.get("description") or ""))
        panic_url = _http(post.get("url"))
        url = _http(post.get("original_url")) or panic_url
        raw_source = post.get("source")
        source: Mapping[str, Any] = raw_source if isinstance(raw_source, Mapping) else {}
        domain = post.get("domain") or source.get("domain")
        listed = _currencies(post)
        tagged = self.tagger.tag(f"{title}\n{text}")
        meta: dict[str, Any] = {
            "cryptopanic_id": mark.id,
            "cryptopanic_url": panic_url,
            "domain": str(domain) if domain else None,
            "source_title": source.get("title"),
            "kind": post.get("kind"),
            "votes": _votes(post.get("votes")),
            "currencies": list(listed),
        }
        if post.get("panic_score") is not None:
            meta["panic_score"] = post.get("panic_score")
        lang = flag_language(meta, title, text)
        return Document.build(
            source=self.name,
            url=url,
            source_id=str(mark.id),
            title=title,
            text=text,
            author=str(post["author"])[:300] if post.get("author") else None,
            published_at=mark.published_at,
            ingested_at=now,
            assets=tuple(sorted({*listed, *tagged})),
            lang=lang,
            metadata=meta,
        )


def _http(value: object) -> str | None:
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return value
    return None


def _currencies(post: Mapping[str, Any]) -> tuple[str, ...]:
    """Tickers CryptoPanic attached (``currencies`` in v1, ``instruments`` in v2)."""
    items = post.get("currencies") or post.get("instruments") or []
    codes: set[str] = set()
    for item in items if isinstance(items, list) else []:
        code = item.get("code") if isinstance(item, Mapping) else None
        if isinstance(code, str) and code.isalnum() and 0 < len(code) <= 12:
            codes.add(code.upper())
    return tuple(sorted(codes))


def _votes(raw: object) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        return {}
    votes: dict[str, int] = {}
    for key in VOTE_KEYS:
        try:
            votes[key] = int(raw.get(key) or 0)
        except (TypeError, ValueError):
            votes[key] = 0
    return votes


def _brief(post: Any) -> str:
    return json.dumps(post, default=str)[:200]


def build_collectors(
    news: NewsSettings, http: HttpSettings, tagger: AssetTagger, options: CollectOptions
) -> list[Collector]:
    """The CryptoPanic collector, or none (with a log line) when no token is configured."""
    if not news.cryptopanic_token:
        log.info(
            "CryptoPanic skipped: no token (set CRYPTOSENSE_NEWS__CRYPTOPANIC_TOKEN; "
            "free keys at https://cryptopanic.com/developers/api/)"
        )
        return []
    return [CryptoPanicCollector(news, http, tagger, base_url=options.url or None)]
