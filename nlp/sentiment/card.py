"""The model card: what a trained sentiment model learnt from, how, and how well it did.

Written beside the weights as ``model_card.json`` (and ``MODEL_CARD.md`` for people) by the
trainer, and read back as a typed :class:`ModelCard` wherever a decision depends on it: the
lifecycle (is this model the best the data at hand allows?), teacher reuse, the CLI.

The card holds one or several training sources (file, content hash, rows, label set,
weight), the recipe (every :class:`TrainConfig` field), and any number of evaluations keyed
by name (``held_out`` is the trainer's own held-out split; per-source figures go beside it).
Cards written before this form (``format`` absent: one ``data`` block, ``hyperparameters``,
one flat ``validation``, the distillation under ``recipe``) are read into it, with the
defaults those older trainers used for keys they did not write yet.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nlp.sentiment.base import LABEL_NAMES
from nlp.sentiment.config import PACKAGED_ENCODER, EpochRecord, TrainConfig

CARD_JSON = "model_card.json"
CARD_MD = "MODEL_CARD.md"
CARD_FORMAT = 2
TASK = "three-class financial sentiment (negative, neutral, positive)"
#: The evaluation every trained model has: its own held-out rows of the training data.
HELD_OUT = "held_out"
#: Evaluations of one source's held-out rows are named ``held_out:<file>``.
HELD_OUT_PREFIX = HELD_OUT + ":"
#: The seed set's file name: an old card trained on it was the service's quick first model.
_SEED_FILE = "seed_sentiment.csv"
#: What a card written before a key existed meant by its absence.
_CONFIG_DEFAULTS: dict[str, Any] = {"pooling": "cls", "layer_decay": 1.0}


class CardError(ValueError):
    """A model card that cannot be read (missing, not JSON, or of the wrong shape)."""


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Evaluation(BaseModel):
    """Metrics of one model on one labelled set (what ``cryptosense nlp eval`` prints).

    Extra figures (ROC AUC of the signed score, per-label rates) are kept as given, so a
    newer trainer's card reads without losing them.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    accuracy: float
    macro_f1: float
    weighted_f1: float
    n: int
    labels: tuple[str, ...] = LABEL_NAMES
    confusion_matrix: tuple[tuple[int, ...], ...] = ()
    roc_auc: float | None = None


class SourceCard(_Part):
    """One labelled file the model was trained on."""

    file: str
    sha256: str = ""
    rows: int = 0
    #: The project labels this source has rows for (a source may lack neutral, say).
    labels: tuple[str, ...] = ()
    label_counts: dict[str, int] = Field(default_factory=dict)
    label_map: dict[str, str] = Field(default_factory=dict)
    #: The weight its rows carried in the training loss.
    weight: float = 1.0
    #: The labels the source can give at all (a self-tagged Bullish/Bearish source has no
    #: neutral class) and the family of its text (news, social, finance).
    classes: tuple[str, ...] = LABEL_NAMES
    family: str | None = None
    train_rows: int | None = None
    validation_rows: int | None = None


class EncoderCard(_Part):
    name: str = PACKAGED_ENCODER
    path: str | None = None


class TeacherCard(_Part):
    """A teacher of a distilled model, as the student's card records it."""

    name: str
    version: str
    path: str
    seed: int
    best_epoch: int
    validation: Evaluation
    epochs: tuple[EpochRecord, ...] = ()
    train_seconds: float = 0.0
    threads: int | None = None
    reused: bool = False


class Distillation(_Part):
    teachers: tuple[TeacherCard, ...]
    ensemble: Evaluation
    alpha: float
    temperature: float
    seconds: dict[str, float] = Field(default_factory=dict)


class ModelCard(_Part):
    format: int = CARD_FORMAT
    name: str = ""
    version: str | None = None
    created_at: str | None = None
    task: str = TASK
    labels: tuple[str, ...] = LABEL_NAMES
    #: The lifecycle tier whose plan trained this model (``seed``, ``full``...); None for a
    #: model trained by hand (``cryptosense nlp train``), which the service never replaces.
    tier: str | None = None
    encoder: EncoderCard = EncoderCard()
    sources: tuple[SourceCard, ...] = ()
    config: TrainConfig = TrainConfig()
    validation: dict[str, Evaluation] = Field(default_factory=dict)
    best_epoch: int | None = None
    epochs: tuple[EpochRecord, ...] = ()
    train_seconds: float | None = None
    threads: int | None = None
    distillation: Distillation | None = None
    software: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_older_form(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or "format" in raw:
            return raw
        return _upgrade_v1(raw)

    @property
    def held_out(self) -> Evaluation | None:
        """The trainer's own held-out figures."""
        return self.validation.get(HELD_OUT)

    @property
    def source_digests(self) -> frozenset[str]:
        return frozenset(s.sha256 for s in self.sources)

    def describe_sources(self) -> str:
        return " + ".join(s.file for s in self.sources) or "(unknown data)"

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"

    def write(self, directory: Path) -> None:
        """``model_card.json`` and ``MODEL_CARD.md`` into ``directory``."""
        (directory / CARD_JSON).write_text(self.to_json(), encoding="utf-8")
        (directory / CARD_MD).write_text(render_card(self), encoding="utf-8")


def read_card(directory: Path) -> ModelCard:
    """The card saved in a model directory; :class:`CardError` says what is wrong."""
    path = Path(directory) / CARD_JSON
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CardError(f"{directory} has no {CARD_JSON}") from None
    except (OSError, ValueError) as err:
        raise CardError(f"cannot read {path}: {err}") from None
    try:
        return ModelCard.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CardError(f"{path}: {where}: {first['msg']}") from None


def find_card(directory: Path) -> ModelCard | None:
    """The card in ``directory``, or None when there is none or it cannot be read."""
    try:
        return read_card(directory)
    except CardError:
        return None


def _upgrade_v1(raw: dict[str, Any]) -> dict[str, Any]:
    """A card as the trainer wrote it before ``format`` 2, in today's shape."""
    out = {k: v for k, v in raw.items() if k in ModelCard.model_fields}
    out["format"] = CARD_FORMAT
    data = raw.get("data")
    if isinstance(data, dict) and data.get("file"):
        counts = data.get("label_counts") or {}
        out["sources"] = [
            {
                **data,
                "label_map": raw.get("label_map") or {},
                "labels": [name for name in LABEL_NAMES if counts.get(name)],
            }
        ]
        if data["file"] == _SEED_FILE:
            out["tier"] = "seed"  # the offline fallback wrote these; the service upgraded them
    hyper = raw.get("hyperparameters")
    if isinstance(hyper, dict):
        known = {f.name for f in fields(TrainConfig)}
        out["config"] = {**_CONFIG_DEFAULTS, **{k: v for k, v in hyper.items() if k in known}}
    validation = raw.get("validation")
    if isinstance(validation, dict) and "accuracy" in validation:
        out["validation"] = {HELD_OUT: validation}
    recipe = raw.get("recipe")
    if isinstance(recipe, dict) and recipe.get("name") == "distil":
        out["distillation"] = {**recipe, "ensemble": recipe.get("teacher_ensemble_validation")}
    return out


def _render_sources(card: ModelCard) -> str:
    lines = []
    for s in card.sources:
        split = (
            f" ({s.train_rows} train, {s.validation_rows} held out)"
            if s.train_rows is not None
            else ""
        )
        weight = f", weight {s.weight:g}" if s.weight != 1.0 else ""
        if s.family:
            weight += f", {s.family}"
        if tuple(s.classes) != LABEL_NAMES:
            weight += f", classes {'/'.join(s.classes)} only"
        lines.append(
            f"- `{s.file}` (sha256 `{s.sha256}`), {s.rows} rows{split}{weight}, label counts "
            f"{json.dumps(s.label_counts)}; label map "
            f"{json.dumps(s.label_map) if s.label_map else '(labels used as named)'}"
        )
    return "\n".join(lines) or "- (not recorded)"


def _render_evaluation(name: str, e: Evaluation, labels: tuple[str, ...]) -> str:
    title = "Held-out validation" if name == HELD_OUT else f"Evaluation: {name}"
    auc = f", ROC AUC {e.roc_auc:.4f}" if e.roc_auc is not None else ""
    extra = e.model_extra or {}
    if extra.get("polar_accuracy") is not None:
        auc += (
            f", polar accuracy {extra['polar_accuracy']:.4f} "
            f"(called neutral {extra.get('called_neutral', 0):.4f})"
        )
    cm = "\n".join(
        f"| {label} | " + " | ".join(str(x) for x in row) + " |"
        for label, row in zip(labels, e.confusion_matrix, strict=False)
    )
    return f"""## {title}

accuracy {e.accuracy:.4f}, macro F1 {e.macro_f1:.4f}, weighted F1 {e.weighted_f1:.4f}{auc},
n = {e.n}

| true \\\\ predicted | negative | neutral | positive |
|---|---|---|---|
{cm}
"""


def _render_distillation(d: Distillation | None) -> str:
    """The distillation section of the card: every teacher, their ensemble, the timings."""
    if d is None:
        return ""
    rows = "\n".join(
        f"| {t.name} | {t.seed} | {t.best_epoch} | {t.validation.accuracy:.4f} "
        f"| {t.validation.macro_f1:.4f} | {t.validation.weighted_f1:.4f} "
        f"| {t.train_seconds:.0f} |"
        for t in d.teachers
    )
    e = d.ensemble
    ensemble = f"{e.accuracy:.4f} | {e.macro_f1:.4f} | {e.weighted_f1:.4f}"
    sec = d.seconds
    return f"""
## Recipe: distillation from {len(d.teachers)} teachers

Teachers differ only in their seed and share the student's held-out rows. The student
learns from `(1 - alpha) * CE(labels) + alpha * T^2 * KL(teachers || student)` with alpha
{d.alpha} and temperature T {d.temperature}, the teachers' probabilities
softened at T and averaged.

| teacher | seed | best epoch | accuracy | macro F1 | weighted F1 | seconds |
|---|---|---|---|---|---|---|
{rows}
| ensemble (mean probabilities) | | | {ensemble} | |

Seconds: teachers {sec.get("teachers")}, soft labels {sec.get("soft_labels")}, student
{sec.get("student")}, total {sec.get("total")}.
"""


def render_card(card: ModelCard) -> str:
    """The human-readable model card, from the same facts as ``model_card.json``."""
    rows = "\n".join(
        f"| {e.epoch} | {e.train_loss:.4f} | {e.accuracy:.4f} | {e.macro_f1:.4f} "
        f"| {e.weighted_f1:.4f} | {e.seconds:.0f} |"
        for e in card.epochs
    )
    evaluations = "\n".join(
        _render_evaluation(name, e, card.labels) for name, e in card.validation.items()
    )
    tier = f"- Lifecycle tier: {card.tier}\n" if card.tier else ""
    config = json.dumps(card.model_dump(mode="json")["config"])
    return f"""# Model card: {card.name}

- Version: `{card.version}`
- Created: {card.created_at}
- Task: {card.task}
{tier}- Encoder: `{card.encoder.name}`
- Seed: {card.config.seed}; threads: {card.threads}; training time: {card.train_seconds} s
- Hyper-parameters: {config}

## Training data

{_render_sources(card)}

{evaluations}
Best epoch: {card.best_epoch}

## Epochs

| epoch | train loss | accuracy | macro F1 | weighted F1 | seconds |
|---|---|---|---|---|---|
{rows}
{_render_distillation(card.distillation)}
Scraped text is scored as data only; the model reads it, nothing in it is executed.
"""
