"""Labelled sources: one file, how to read it, which of its rows are kept apart, and the
presets for the labelled data that lies beside the project (``../shared/data/sentiment``).

A source says what its labels can be (``classes``: self-tagged Bullish/Bearish posts have no
neutral class), which family of text it is (``news``, ``social``, ``finance``), what weight
its rows carry, and which rows it keeps for evaluation (:class:`HeldOut`: the latest share by
a date column, so a model is judged on a later period than it learnt from, or a stratified
sample when the file has no dates). The trainer never sees held-out rows; they choose the
best epoch and fill the model card, one evaluation per source.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.files import file_sha256
from nlp.sentiment.data import (
    ALL_CLASSES,
    SEED_DATA,
    TFNS_LABEL_MAP,
    DataError,
    DataSource,
    LabelledData,
    label_index,
    read_rows,
    stratified_split,
)

log = logging.getLogger(__name__)

#: The labelled files :func:`crypto_sources` looks for in a folder.
TFNS_FILE = "tfns_train.csv"
CRYPTOLIN_FILE = "cryptolin_2018_2021h1.csv"
STOCKTWITS_FILE = "stocktwits_eth_2022.csv"
POLAR: tuple[str, ...] = ("negative", "positive")


@dataclass(frozen=True)
class HeldOut:
    """Which rows of a source are kept apart: the latest ``frac`` by column ``by`` (ISO dates
    or times sort as text), or a stratified random ``frac`` when ``by`` is None."""

    frac: float
    by: str | None = None
    seed: int = 13

    def mask(self, labels: np.ndarray, times: list[str] | None) -> np.ndarray:
        if not 0 < self.frac < 1:
            raise DataError(f"a held-out share must be between 0 and 1, got {self.frac}")
        out = np.zeros(len(labels), dtype=bool)
        if self.by is None:
            _, val = stratified_split(labels, self.frac, self.seed)
            out[val] = True
            return out
        assert times is not None  # noqa: S101 - load() reads the column when `by` is set
        order = np.argsort(np.asarray(times), kind="stable")
        out[order[len(order) - max(1, round(self.frac * len(order))) :]] = True
        return out


@dataclass(frozen=True)
class LabelledSource:
    """One labelled file a plan trains on, how to read it, and the weight of its rows."""

    path: Path
    text_col: str = "text"
    label_col: str = "label"
    label_map: Mapping[str, str] = field(default_factory=dict)
    weight: float = 1.0
    classes: tuple[str, ...] = ALL_CLASSES
    family: str = "finance"
    #: Raw label values whose rows are not labelled at all (``NULL`` in StockTwits).
    unlabelled: tuple[str, ...] = ()
    #: Keep the first row of each distinct text only (reposted spam, copied posts).
    dedupe: bool = False
    held_out: HeldOut | None = None

    @property
    def name(self) -> str:
        return Path(self.path).name

    def sha256(self) -> str:
        return file_sha256(Path(self.path).expanduser())

    def load(self) -> LabelledData:
        """Read, validate and mark the held-out rows; every problem names file, column, row."""
        path = Path(self.path).expanduser()
        if not path.is_file():
            raise DataError(f"data file {path} does not exist")
        try:
            columns, rows = read_rows(path)
        except UnicodeDecodeError as err:
            raise DataError(f"{path.name} is not UTF-8 text ({err.reason})") from None
        wanted = [self.text_col, self.label_col]
        if self.held_out is not None and self.held_out.by:
            wanted.append(self.held_out.by)
        for column in wanted:
            if column not in columns:
                raise DataError(
                    f"{path.name} has no column {column!r}; its columns are: {', '.join(columns)}"
                )
        texts: list[str] = []
        labels: list[int] = []
        times: list[str] = []
        seen: set[str] = set()
        skipped = 0
        for row_no, row in enumerate(rows, start=1):
            raw_label = str(row.get(self.label_col) or "").strip()
            text = str(row.get(self.text_col) or "").strip()
            if raw_label in self.unlabelled or not text or (self.dedupe and text in seen):
                skipped += 1
                continue
            seen.add(text)
            label = label_index(
                raw_label, self.label_map, path=path, column=self.label_col, row=row_no
            )
            if ALL_CLASSES[label] not in self.classes:
                raise DataError(
                    f"{path.name}: label {ALL_CLASSES[label]!r} at row {row_no} is not one of "
                    f"this source's classes ({', '.join(self.classes)})"
                )
            texts.append(text)
            labels.append(label)
            if self.held_out is not None and self.held_out.by:
                times.append(str(row.get(self.held_out.by) or ""))
        if not texts:
            raise DataError(f"{path.name} has no labelled rows")
        if skipped:
            log.info("%s: %d rows unlabelled, empty or repeated, skipped", path.name, skipped)
        label_array = np.asarray(labels, dtype=np.int64)
        source = DataSource(
            path.name,
            file_sha256(path),
            dict(self.label_map),
            self.weight,
            classes=self.classes,
            family=self.family,
        )
        return LabelledData(
            texts=tuple(texts),
            labels=label_array,
            source=path.name,
            sha256=source.sha256,
            label_map=dict(self.label_map),
            parts=(source,),
            origins=np.zeros(len(texts), dtype=np.int64),
            held_out=(
                None if self.held_out is None else self.held_out.mask(label_array, times or None)
            ),
        )


def tfns_source(path: Path, weight: float = 1.0) -> LabelledSource:
    """Twitter Financial News: finance tweets, 3 classes, 10% stratified held out."""
    return LabelledSource(
        path, label_map=TFNS_LABEL_MAP, weight=weight, family="finance", held_out=HeldOut(0.1)
    )


def cryptolin_source(path: Path, weight: float = 2.0) -> LabelledSource:
    """CryptoLin: crypto headlines, 3 classes; the latest 20% by date held out. Weighted up:
    1,118 rows of the domain the product is for, beside 9.5k finance tweets."""
    return LabelledSource(path, weight=weight, family="news", held_out=HeldOut(0.2, by="date"))


def stocktwits_source(path: Path, weight: float = 0.5) -> LabelledSource:
    """StockTwits $ETH.X posts tagged Bullish/Bearish by their authors: no neutral class,
    noisy, skewed bullish; untagged rows and repeated bodies skipped; the latest 20% by time
    held out. Weighted down for the noise."""
    return LabelledSource(
        path,
        text_col="body",
        label_col="tag",
        label_map={"Bullish": "positive", "Bearish": "negative"},
        weight=weight,
        classes=POLAR,
        family="social",
        unlabelled=("NULL", ""),
        dedupe=True,
        held_out=HeldOut(0.2, by="created_at"),
    )


def seed_source(weight: float = 1.0) -> LabelledSource:
    """The project's own 400 written texts (news-like crypto and finance sentences)."""
    return LabelledSource(SEED_DATA, weight=weight, family="news", held_out=HeldOut(0.15))


def crypto_sources(
    folder: Path, weights: Mapping[str, float] | None = None
) -> tuple[LabelledSource, ...]:
    """The labelled sources found in ``folder`` (finance tweets, crypto headlines, crypto
    posts), plus the seed set; ``weights`` overrides a source's weight by file name."""
    folder = Path(folder).expanduser()
    presets = {
        TFNS_FILE: tfns_source,
        CRYPTOLIN_FILE: cryptolin_source,
        STOCKTWITS_FILE: stocktwits_source,
    }
    weights = dict(weights or {})
    unknown = set(weights) - {*presets, SEED_DATA.name}
    if unknown:
        raise DataError(
            f"no source named {', '.join(sorted(unknown))}; "
            f"sources are {', '.join([*presets, SEED_DATA.name])}"
        )
    found: list[LabelledSource] = []
    for name, preset in presets.items():
        path = folder / name
        if path.is_file():
            found.append(preset(path, weights[name]) if name in weights else preset(path))
    if not found:
        raise DataError(f"{folder} holds none of {', '.join(presets)}")
    found.append(seed_source(weights.get(SEED_DATA.name, 1.0)))
    return tuple(found)
