"""URL canonicalisation: one story, one URL, whatever feed or share button it came through."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs")
_TRACKING_KEYS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mkt_tok",
        "ref",
        "ref_src",
        "referrer",
        "source",
        "cmpid",
        "campaign",
        "ncid",
        "sr_share",
        "share",
        "s_cid",
        "cid",
        "_ga",
        "oly_enc_id",
        "oly_anon_id",
        "vero_id",
        "wt_mc",
        "at_medium",
        "at_campaign",
        "guccounter",
        "rss",
        "feed",
        "output",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments, tracking parameters and a
    trailing slash, sort the remaining query. The result is still a working link."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower() or "https"
    host = (parts.hostname or "").lower().rstrip(".")
    port = (
        parts.port if parts.port not in (None, _DEFAULT_PORTS.get(parts.scheme.lower())) else None
    )
    netloc = f"{host}:{port}" if port else host
    path = parts.path or "/"
    while "//" in path:
        path = path.replace("//", "/")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_KEYS
    ]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def url_key(url: str) -> str:
    """The identity of a story's URL: the canonical URL with ``http``/``https`` and a leading
    ``www.`` folded together. Used for document ids, never as a link."""
    canon = canonical_url(url)
    parts = urlsplit(canon)
    host = parts.netloc[4:] if parts.netloc.startswith("www.") else parts.netloc
    return urlunsplit(
        (
            "https" if parts.scheme in ("http", "https") else parts.scheme,
            host,
            parts.path,
            parts.query,
            "",
        )
    )
