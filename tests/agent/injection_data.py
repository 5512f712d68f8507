"""Storing the hostile posts of :mod:`agent.injection` as the collectors would."""

from __future__ import annotations

from datetime import timedelta

from collectors.assets import AssetTagger
from core.records import Document, SourceFamily
from core.store import Store
from tests.agent.conftest import NOW
from tests.factories import T0, score


def store_post(store: Store, kind: str, text: str, *, minutes_before: int = 30) -> Document:
    """One hostile Reddit post about ETH, ingested shortly before NOW, scored."""
    at = NOW - timedelta(minutes=minutes_before)
    tagged = AssetTagger().tag(text) or ("ETH",)
    doc = Document.build(
        source="reddit:ethereum",
        family=SourceFamily.REDDIT,
        url=f"https://reddit.example.com/r/ethereum/{kind}",
        title=f"Ethereum driving sentiment {text[:80]}",
        text=text,
        published_at=at,
        ingested_at=at,
        assets=tagged,
    )
    store.documents.add([doc])
    minutes = int((at - T0).total_seconds() // 60)
    store.scores.add([score(doc.id, positive=0.8, negative=0.05, minutes=minutes)])
    return doc
