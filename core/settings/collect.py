"""Settings of the collectors (collectors/): HTTP, each source, and the assets they tag."""

from __future__ import annotations

from pydantic import Field, field_validator

from core.assets import asset_symbol
from core.settings.base import Section

DEFAULT_FEEDS: tuple[tuple[str, str], ...] = (
    ("coindesk", "https://www.coindesk.com/arc/outboundfeeds/rss/"),
    ("cointelegraph", "https://cointelegraph.com/rss"),
    ("decrypt", "https://decrypt.co/feed"),
    ("bitcoinmagazine", "https://bitcoinmagazine.com/.rss/full/"),
    ("theblock", "https://www.theblock.co/rss.xml"),
)


class AssetSpec(Section):
    symbol: str
    names: tuple[str, ...] = ()

    @field_validator("symbol")
    @classmethod
    def _upper(cls, v: str) -> str:
        return asset_symbol(v)


class AssetSettings(Section):
    extra: tuple[AssetSpec, ...] = Field(
        default=(),
        description="Assets tagged in addition to the built-in list (BTC, ETH, SOL, XRP, DOGE, "
        "ADA, ...), e.g. [{symbol='LINK', names=['chainlink']}]",
    )


class FeedSpec(Section):
    name: str
    url: str


class HttpSettings(Section):
    timeout_s: float = Field(default=15.0, gt=0, le=300)
    max_bytes: int = Field(default=5_000_000, gt=1024)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_base_s: float = Field(default=1.0, ge=0)
    user_agent: str = "cryptosense/0.1 (+https://github.com/cryptosense)"
    breaker_threshold: int = Field(
        default=5, ge=1, description="failures in a row that open a source's circuit"
    )
    breaker_cooldown_s: float = Field(default=300.0, gt=0)


class RssSettings(Section):
    feeds: tuple[FeedSpec, ...] = tuple(FeedSpec(name=n, url=u) for n, u in DEFAULT_FEEDS)
    interval_s: float = Field(default=300.0, gt=0)


class RedditSettings(Section):
    client_id: str | None = None
    client_secret: str | None = None
    user_agent: str = "cryptosense/0.1 by cryptosense"
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"
    short_url: str = "https://redd.it"
    subreddits: tuple[str, ...] = ("CryptoCurrency", "Bitcoin", "ethereum", "CryptoMarkets")
    limit: int = Field(default=50, ge=1, le=1000)
    comments_per_post: int = Field(default=20, ge=0, le=500)
    interval_s: float = Field(default=600.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


class NewsSettings(Section):
    cryptopanic_token: str | None = None
    cryptopanic_url: str = "https://cryptopanic.com/api/developer/v2/posts/"
    fetch_articles: bool = True
    per_host_interval_s: float = Field(default=2.0, ge=0)
    interval_s: float = Field(default=900.0, gt=0)


class PriceSettings(Section):
    exchange: str = "bitstamp"
    pairs: tuple[str, ...] = ("BTC/USD", "ETH/USD")
    timeframes: tuple[str, ...] = ("1h", "1d")
    interval_s: float = Field(default=900.0, gt=0)
    api_url: str | None = Field(
        default=None,
        description="Replaces every entry of the exchange's ccxt urls['api'] "
        "(a proxy or a local replay); unset: the exchange's own endpoints",
    )


class OnchainSettings(Section):
    base_url: str = "https://community-api.coinmetrics.io/v4"
    assets: tuple[str, ...] = ("btc", "eth")
    metrics: tuple[str, ...] = (
        "AdrActCnt",
        "TxCnt",
        "FeeTotNtv",
        "HashRate",
        "FlowInExNtv",
        "FlowOutExNtv",
    )
    interval_s: float = Field(default=21600.0, gt=0)
