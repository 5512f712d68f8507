"""Labelled text for training and evaluation: CSV or JSONL in, validated arrays out.

Every problem is reported with the file, column, label and row it concerns, because the
person reading the message has a 10k-row file open and needs to find the line.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.files import file_sha256
from core.records import LABELS
from nlp.sentiment.base import DEFAULT_LABEL_ALIASES, LabelMappingError, parse_label

#: The project's seed set and crypto check set, shipped with the package.
PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"
SEED_DATA = PACKAGE_DATA / "seed_sentiment.csv"
CRYPTO_CHECK = PACKAGE_DATA / "crypto_check.csv"

#: Twitter Financial News labels, the set the project measures itself on.
TFNS_LABEL_MAP: Mapping[str, str] = {"0": "negative", "1": "positive", "2": "neutral"}


class DataError(ValueError):
    """Labelled data that cannot be used; the message names the column, label or row."""


@dataclass(frozen=True)
class LabelledData:
    """Texts with integer labels (0 negative, 1 neutral, 2 positive) and their provenance."""

    texts: tuple[str, ...]
    labels: np.ndarray
    source: str
    sha256: str
    label_map: Mapping[str, str]

    def __len__(self) -> int:
        return len(self.texts)

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


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, object]]]:
    """Column names and rows of a CSV (any common delimiter) or JSONL file."""
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
        sample = fh.read(64 * 1024)
        fh.seek(0)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(fh, dialect=dialect)
        try:
            data = [dict(row) for row in reader]
        except csv.Error as err:
            raise DataError(
                f"{path.name}: malformed CSV near line {reader.line_num}: {err}"
            ) from None
        return list(reader.fieldnames or []), list(data)


def _label_index(
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
) -> LabelledData:
    """Read and validate a labelled file; rows are numbered from 1 after the header.

    Labels go through ``label_map`` first; the names negative/neutral/positive (and
    bearish/bullish) are always understood, so a map is only needed for codes like ``0``.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    mapping = parse_label_map(label_map)
    try:
        columns, rows = _read_rows(path)
    except UnicodeDecodeError as err:
        raise DataError(f"{path.name} is not UTF-8 text ({err.reason})") from None
    for wanted, role in ((text_col, "text"), (label_col, "label")):
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
            _label_index(row.get(label_col), mapping, path=path, column=label_col, row=row_no)
        )
    return LabelledData(
        texts=tuple(texts),
        labels=np.asarray(labels, dtype=np.int64),
        source=path.name,
        sha256=file_sha256(path),
        label_map=dict(mapping),
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
