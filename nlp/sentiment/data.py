"""Labelled text for training and evaluation: CSV or JSONL in, validated arrays out.

Every problem is reported with the file, column, label and row it concerns, because the
person reading the message has a 10k-row file open and needs to find the line.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import numpy as np

from core.files import file_sha256
from core.records import LABELS
from nlp.sentiment.base import DEFAULT_LABEL_ALIASES, LabelMappingError, parse_label

#: The project's seed set and crypto check set, shipped with the package.
PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"
SEED_DATA = PACKAGE_DATA / "seed_sentiment.csv"
CRYPTO_CHECK = PACKAGE_DATA / "crypto_check.csv"
#: 217 project-written crypto posts and headlines: slang, emoji, sarcasm, negation.
SLANG_CHECK = PACKAGE_DATA / "crypto_slang.csv"

#: Twitter Financial News labels, the set the project measures itself on.
TFNS_LABEL_MAP: Mapping[str, str] = {"0": "negative", "1": "positive", "2": "neutral"}
#: Every project label, in project order (0 negative, 1 neutral, 2 positive).
ALL_CLASSES: tuple[str, ...] = tuple(label.value for label in LABELS)


class DataError(ValueError):
    """Labelled data that cannot be used; the message names the column, label or row."""


@dataclass(frozen=True)
class DataSource:
    """One labelled file a data set was read from, and the weight its rows carry in training.

    ``classes`` are the labels the source can give at all: self-tagged posts that are only
    Bullish or Bearish have no neutral class, so the training objective compares only the
    polar scores on their rows (:mod:`nlp.sentiment.objective`) and their evaluation reports
    polarity rather than three-class figures. ``family`` (``news``, ``social``, ``finance``)
    groups sources whose text reads alike.
    """

    name: str
    sha256: str
    label_map: Mapping[str, str]
    weight: float = 1.0
    classes: tuple[str, ...] = ALL_CLASSES
    family: str = "finance"

    @property
    def has_neutral(self) -> bool:
        return "neutral" in self.classes

    def class_mask(self) -> np.ndarray:
        """Boolean row over the project labels: True for the classes this source gives."""
        return np.asarray([name in self.classes for name in ALL_CLASSES], dtype=bool)


@dataclass(frozen=True)
class LabelledData:
    """Texts with integer labels (0 negative, 1 neutral, 2 positive) and their provenance.

    Read from one file, ``source``/``sha256``/``label_map`` describe it. Combined from several
    (:func:`combine_sources`), ``parts`` lists them and ``origins`` says which one each row came
    from; ``source`` and ``sha256`` then name and digest the combination.
    """

    texts: tuple[str, ...]
    labels: np.ndarray
    source: str
    sha256: str
    label_map: Mapping[str, str]
    parts: tuple[DataSource, ...] = ()
    origins: np.ndarray | None = None
    #: Rows a source keeps apart for evaluation (its own rule: the latest by date, or a
    #: stratified sample); None: the trainer picks a stratified split itself.
    held_out: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def sources(self) -> tuple[DataSource, ...]:
        """The files behind these rows (one for data read from one file)."""
        return self.parts or (DataSource(self.source, self.sha256, self.label_map),)

    def origin_ids(self) -> np.ndarray:
        """For each row, the index in :attr:`sources` of the file it came from."""
        if self.origins is None:
            return np.zeros(len(self), dtype=np.int64)
        return self.origins

    def row_weights(self) -> np.ndarray:
        """For each row, the training weight of its source."""
        weights = np.asarray([s.weight for s in self.sources], dtype=np.float64)
        return weights[self.origin_ids()]

    def counts(self) -> dict[str, int]:
        tally = Counter(int(i) for i in self.labels)
        return {label.value: tally.get(i, 0) for i, label in enumerate(LABELS)}

    def subset(self, indices: Sequence[int] | np.ndarray) -> LabelledData:
        idx = np.asarray(indices, dtype=np.int64)
        return LabelledData(
            texts=tuple(self.texts[i] for i in idx),
            labels=self.labels[idx],
            source=self.source,
            sha256=self.sha256,
            label_map=self.label_map,
            parts=self.parts,
            origins=None if self.origins is None else self.origins[idx],
            held_out=None if self.held_out is None else self.held_out[idx],
        )

    def class_masks(self) -> np.ndarray:
        """For each row, which project labels its source can give (rows x 3, boolean)."""
        masks = np.stack([s.class_mask() for s in self.sources])
        return masks[self.origin_ids()]

    def sample_per_source(self, limit: int, seed: int = 13) -> LabelledData:
        """At most ``limit`` rows of each source, drawn at random (seeded), in row order."""
        rng = np.random.default_rng(seed)
        keep: list[np.ndarray] = []
        for index in range(len(self.sources)):
            rows = np.flatnonzero(self.origin_ids() == index)
            if len(rows) > limit:
                rows = rng.choice(rows, size=limit, replace=False)
            keep.append(rows)
        return self.subset(np.sort(np.concatenate(keep)))

    def of_source(self, index: int) -> LabelledData:
        """The rows that came from ``sources[index]``."""
        return self.subset(np.flatnonzero(self.origin_ids() == index))


def combine_sources(parts: Sequence[tuple[LabelledData, float]]) -> LabelledData:
    """Several labelled files as one training set, each with the weight its rows carry.

    One part with weight 1 comes back as it is, so a one-file plan trains exactly as before.
    """
    if not parts:
        raise DataError("no labelled data to combine")
    for data, weight in parts:
        if not weight > 0:
            raise DataError(f"{data.source}: a source weight must be above 0, got {weight}")
    if len(parts) == 1 and parts[0][1] == 1.0:
        return parts[0][0]
    for data, _ in parts:
        if len(data.sources) != 1:
            raise DataError(f"{data.source}: combine single files, not combined sets")
    sources = tuple(replace(data.sources[0], weight=float(weight)) for data, weight in parts)
    digest = hashlib.sha256("\n".join(f"{s.sha256} {s.weight}" for s in sources).encode())
    return LabelledData(
        texts=tuple(t for data, _ in parts for t in data.texts),
        labels=np.concatenate([data.labels for data, _ in parts]),
        source="+".join(s.name for s in sources),
        sha256=digest.hexdigest(),
        label_map={},
        parts=sources,
        origins=np.concatenate(
            [np.full(len(data), i, dtype=np.int64) for i, (data, _) in enumerate(parts)]
        ),
        held_out=(
            None
            if all(data.held_out is None for data, _ in parts)
            else np.concatenate(
                [
                    np.zeros(len(data), dtype=bool) if data.held_out is None else data.held_out
                    for data, _ in parts
                ]
            )
        ),
    )


def parse_label_map(raw: str | Mapping[str, str] | None) -> dict[str, str]:
    """A label map from JSON text, a JSON file path, or a mapping; targets are validated."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        text = raw
        if not raw.lstrip().startswith("{") and Path(raw).is_file():
            text = Path(raw).read_text(encoding="utf-8")
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(
                f"label map is not valid JSON ({err.msg}); expected e.g. "
                '{"0": "negative", "1": "positive", "2": "neutral"}'
            ) from None
        if not isinstance(loaded, dict):
            raise DataError("label map must be a JSON object from file labels to labels")
        raw = loaded
    out: dict[str, str] = {}
    for key, value in raw.items():
        try:
            out[str(key).strip()] = parse_label(str(value)).value
        except LabelMappingError as err:
            raise DataError(f"label map entry {key!r}: {err}") from None
    return out


#: Delimiters a labelled CSV may use; the header line decides which (',' unless it says so).
CSV_DELIMITERS = ",;\t|"
_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def header_delimiter(header: str) -> str:
    """The delimiter a CSV's header line uses: the candidate found most often outside quoted
    column names, ``,`` when none is found or on a tie.

    Only the header decides, and only the delimiter: the quote character is always ``"``
    (RFC 4180). ``csv.Sniffer`` guessed both from the body and took ``'`` for the quote in
    finance tweets full of apostrophes, which shifted every column.
    """
    bare = _QUOTED.sub("", header)
    counts = {d: bare.count(d) for d in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: counts[d])  # first wins ties: ',' before others
    return best if counts[best] else ","


def csv_dict_reader(fh: TextIO) -> csv.DictReader[str]:
    """An RFC 4180 reader over ``fh`` (opened with ``newline=""``), delimiter from its header."""
    header = fh.readline()
    fh.seek(0)
    return csv.DictReader(fh, dialect=csv.excel, delimiter=header_delimiter(header))


def read_rows(path: Path) -> tuple[list[str], list[dict[str, object]]]:
    """Column names and rows of a CSV (RFC 4180, delimiter from the header) or JSONL file."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        rows: list[dict[str, object]] = []
        columns: dict[str, None] = {}
        with path.open(encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f"{path.name}: line {lineno} is not JSON ({err.msg})") from None
                if not isinstance(obj, dict):
                    raise DataError(f"{path.name}: line {lineno} is not a JSON object")
                columns.update(dict.fromkeys(obj))
                rows.append(obj)
        return list(columns), rows
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv_dict_reader(fh)
        try:
            data = [dict(row) for row in reader]
        except csv.Error as err:
            raise DataError(
                f"{path.name}: malformed CSV near line {reader.line_num}: {err}"
            ) from None
        return list(reader.fieldnames or []), list(data)


def label_index(
    raw: object, label_map: Mapping[str, str], *, path: Path, column: str, row: int
) -> int:
    key = "" if raw is None else str(raw).strip()
    if key.endswith(".0") and key[:-2].isdigit():  # 1.0 written by a spreadsheet for 1
        key = key[:-2]
    target = label_map.get(key)
    if target is None:
        alias = DEFAULT_LABEL_ALIASES.get(key.lower())
        if alias is None:
            known = ", ".join([*sorted(label_map), "negative", "neutral", "positive"])
            hint = "" if label_map else ' (pass --label-map, e.g. {"0": "negative", ...})'
            raise DataError(
                f"{path.name}: unknown label {key!r} in column {column!r} at row {row}; "
                f"known labels: {known}{hint}"
            )
        target = alias.value
    return [label.value for label in LABELS].index(target)


def load_labelled(
    path: Path | str,
    *,
    text_col: str = "text",
    label_col: str = "label",
    label_map: str | Mapping[str, str] | None = None,
    source_col: str | None = None,
) -> LabelledData:
    """Read and validate a labelled file; rows are numbered from 1 after the header.

    Labels go through ``label_map`` first; the names negative/neutral/positive (and
    bearish/bullish) are always understood, so a map is only needed for codes like ``0``.
    With ``source_col``, a file that mixes sources is read as one source per value of that
    column (named ``file:value``), so evaluation reports each apart.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    mapping = parse_label_map(label_map)
    try:
        columns, rows = read_rows(path)
    except UnicodeDecodeError as err:
        raise DataError(f"{path.name} is not UTF-8 text ({err.reason})") from None
    wanted_cols = [(text_col, "text"), (label_col, "label")]
    if source_col is not None:
        wanted_cols.append((source_col, "source"))
    for wanted, role in wanted_cols:
        if wanted not in columns:
            raise DataError(
                f"{path.name} has no {role} column {wanted!r}; its columns are: "
                f"{', '.join(columns) or '(none)'}"
            )
    if not rows:
        raise DataError(f"{path.name} has no rows")
    texts: list[str] = []
    labels: list[int] = []
    for row_no, row in enumerate(rows, start=1):
        text = row.get(text_col)
        if text is None or not str(text).strip():
            raise DataError(f"{path.name}: empty text in column {text_col!r} at row {row_no}")
        texts.append(str(text).strip())
        labels.append(
            label_index(row.get(label_col), mapping, path=path, column=label_col, row=row_no)
        )
    data = LabelledData(
        texts=tuple(texts),
        labels=np.asarray(labels, dtype=np.int64),
        source=path.name,
        sha256=file_sha256(path),
        label_map=dict(mapping),
    )
    if source_col is None:
        return data
    values = [str(row.get(source_col) or "").strip() or "(none)" for row in rows]
    names = sorted(set(values))
    return replace(
        data,
        parts=tuple(DataSource(f"{path.name}:{n}", data.sha256, data.label_map) for n in names),
        origins=np.asarray([names.index(v) for v in values], dtype=np.int64),
    )


def stratified_split(
    labels: np.ndarray, val_frac: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices with each label's share kept in both parts."""
    if not 0 < val_frac < 1:
        raise DataError(f"val_frac must be between 0 and 1, got {val_frac}")
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    try:
        train_idx, val_idx = train_test_split(
            indices, test_size=val_frac, random_state=seed, stratify=labels
        )
    except ValueError as err:
        raise DataError(f"cannot split {len(labels)} rows for validation: {err}") from None
    return np.sort(train_idx), np.sort(val_idx)
