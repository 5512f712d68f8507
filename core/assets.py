"""Which asset symbols a request may name: the one rule the API and the command line share.

An asset is known when at least one stored document mentions it. A symbol nothing mentions
is refused with :class:`UnknownAssetError` instead of answering with an empty result, which
would look the same as "no news about it lately" and hide a typo such as ``BTCC``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import UserFacingError

if TYPE_CHECKING:
    from core.store import Store


def asset_symbol(raw: str) -> str:
    """``btc`` as ``BTC``: the spelling of a symbol everywhere (settings, the command line).

    Raises ``ValueError`` for text that cannot be a symbol at all: 1-12 letters or digits.
    """
    symbol = raw.strip().upper()
    if not symbol.isalnum() or len(symbol) > 12:
        raise ValueError(f"{raw!r} is not an asset symbol: use 1-12 letters or digits, e.g. BTC")
    return symbol


class UnknownAssetError(UserFacingError):
    """No stored document mentions the asset; ``raw`` is the symbol as the user gave it."""

    def __init__(self, raw: str) -> None:
        super().__init__(f"unknown asset {raw!r}: no stored document mentions it")
        self.raw = raw


def require_known_asset(store: Store, raw: str) -> str:
    """The symbol upper-cased (``btc`` names ``BTC``), or :class:`UnknownAssetError`."""
    asset = raw.strip().upper()
    if not asset or not store.documents.asset_counts(asset):
        raise UnknownAssetError(raw)
    return asset
