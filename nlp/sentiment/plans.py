"""Training plans: which labelled data and which recipe make the best model the data at hand
allows, ranked by tier.

A tier is a step of quality the service can climb without a person: ``seed`` (the project's
400 written texts, about a minute), ``full`` (``sentiment.train_data``, e.g. Twitter
Financial News, 11-20 minutes), then ``crypto`` (every labelled source in
``sentiment.labelled_dir``: finance tweets, crypto headlines and self-tagged crypto posts,
each with its label set, weight and held-out part; see :mod:`nlp.sentiment.sources`).
:func:`target_plan` says which tier the settings and files reach now;
:meth:`TrainingPlan.improves_on` compares it with a saved model's card.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from core.settings import SentimentSettings
from nlp.sentiment.card import ModelCard
from nlp.sentiment.config import TrainConfig
from nlp.sentiment.data import DataError, LabelledData, combine_sources
from nlp.sentiment.sources import LabelledSource, crypto_sources, seed_source

log = logging.getLogger(__name__)

#: Quality tiers, worst first. A card's ``tier`` names one; a card without one (a model
#: trained by hand) is never replaced automatically.
TIERS: tuple[str, ...] = ("seed", "full", "crypto")
#: The quick tier: what a first start trains before it serves.
QUICK_TIER = "seed"


def tier_rank(tier: str | None) -> int | None:
    """Position of ``tier`` in :data:`TIERS`; None for no tier or one this code does not know
    (a newer project's), which is never replaced either."""
    return TIERS.index(tier) if tier in TIERS else None


@dataclass(frozen=True)
class TrainingPlan:
    """What to train for a tier: its sources and its recipe."""

    tier: str
    sources: tuple[LabelledSource, ...]
    config: TrainConfig

    @property
    def rank(self) -> int:
        rank = tier_rank(self.tier)
        if rank is None:
            raise ValueError(f"unknown tier {self.tier!r}; tiers are {', '.join(TIERS)}")
        return rank

    def describe(self) -> str:
        files = " + ".join(Path(s.path).name for s in self.sources)
        return f"{self.tier} model from {files}"

    def load(self) -> LabelledData:
        """The training rows of every source (one set; several combined with their weights)."""
        return combine_sources([(s.load(), s.weight) for s in self.sources])

    def digests(self) -> frozenset[str]:
        return frozenset(s.sha256() for s in self.sources)

    def fingerprint(self) -> str:
        """A digest of everything that decides the trained weights: each source's content,
        reading rules and weight, and the recipe. Same fingerprint, same model."""
        described = {
            "tier": self.tier,
            "sources": [{**asdict(s), "path": s.name, "sha256": s.sha256()} for s in self.sources],
            "config": asdict(self.config),
        }
        text = json.dumps(described, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def improves_on(self, card: ModelCard | None) -> bool:
        """Would this plan's model replace the one described by ``card``?

        Yes for a model of a lower tier, or of this tier trained on other files. No for a
        higher tier, for a model trained by hand (no tier), or when there is no card.
        """
        have = tier_rank(card.tier) if card is not None else None
        if card is None or have is None:
            return False
        if have != self.rank:
            return have < self.rank
        return card.source_digests != self.digests()


def seed_config(settings: SentimentSettings) -> TrainConfig:
    """The recipe for the seed set: small data, so more epochs at a higher rate.

    About a minute on two free cores; what a fresh ``cryptosense run`` does before the API
    can answer. The stock ``[CLS]`` head here: on 400 texts it carried over to finance tweets
    better than the mean-pooled one (TFNS weighted F1 0.616 against 0.577, both 0.89 on the
    crypto check set; docs/sentiment.md), the opposite of what the full TFNS set shows.
    """
    return TrainConfig(
        encoder=settings.offline_encoder,
        epochs=6,
        lr=1e-4,
        batch_size=16,
        max_length=min(settings.max_length, 48),
        val_frac=0.15,
        patience=3,
        threads=settings.threads,
        pooling="cls",
    )


def full_config(settings: SentimentSettings) -> TrainConfig:
    """The plain recipe for a real labelled set such as Twitter Financial News.

    lr 1e-4 with the mean-pooled head: 0.866 held-out weighted F1 on TFNS for two seeds
    (docs/sentiment.md); one model, so it trains in the background in about 15 minutes.
    """
    return TrainConfig(
        encoder=settings.offline_encoder,
        lr=1e-4,
        max_length=settings.max_length,
        threads=settings.threads,
    )


def crypto_config(settings: SentimentSettings) -> TrainConfig:
    """The recipe for several sources at once: the full recipe, each source's own held-out
    rows choosing the epoch (:func:`nlp.sentiment.evaluate.selection_score`)."""
    return full_config(settings)


def default_recipes(settings: SentimentSettings) -> dict[str, TrainConfig]:
    """The recipe of each tier."""
    return {
        "seed": seed_config(settings),
        "full": full_config(settings),
        "crypto": crypto_config(settings),
    }


def quick_plan(recipes: Mapping[str, TrainConfig]) -> TrainingPlan:
    """The project's seed set: what a fresh start trains before it serves."""
    return TrainingPlan(QUICK_TIER, (LabelledSource(seed_source().path),), recipes[QUICK_TIER])


def target_plan(settings: SentimentSettings, recipes: Mapping[str, TrainConfig]) -> TrainingPlan:
    """The best plan the settings and the files at hand allow: the crypto sources of
    ``sentiment.labelled_dir`` when it holds any, else ``sentiment.train_data`` when it is
    set and exists, else the seed set."""
    if settings.labelled_dir is not None:
        try:
            sources = crypto_sources(settings.labelled_dir, settings.source_weights)
        except DataError as err:
            log.warning("sentiment.labelled_dir: %s; not training the crypto model", err)
        else:
            return TrainingPlan("crypto", sources, recipes["crypto"])
    if settings.train_data is not None:
        path = Path(settings.train_data).expanduser()
        if path.is_file():
            source = LabelledSource(
                path,
                text_col=settings.train_text_col,
                label_col=settings.train_label_col,
                label_map=dict(settings.train_label_map),
            )
            return TrainingPlan("full", (source,), recipes["full"])
        log.warning("sentiment.train_data %s does not exist; using the seed set", path)
    return quick_plan(recipes)
