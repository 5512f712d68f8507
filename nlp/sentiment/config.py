"""What a training run is asked to do (:class:`TrainConfig`) and what each epoch reports.

Every field of the config is written to the model card, so a card says how to train its model
again; :mod:`nlp.sentiment.card` reads both back.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlp.embeddings import PACKAGED_MODEL

PACKAGED_ENCODER = PACKAGED_MODEL
RECIPES: tuple[str, ...] = ("plain", "distil")
#: ``mean``: mean of the token states (BERT-family encoders; see nlp.sentiment.architecture);
#: ``cls``: Hugging Face's stock head on the ``[CLS]`` pooler; ``auto``: mean where it applies.
POOLINGS: tuple[str, ...] = ("auto", "mean", "cls")


class TrainError(ValueError):
    """Training cannot start: a bad option, a missing encoder, an unusable output folder."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; every field is written to the model card."""

    encoder: str = PACKAGED_ENCODER
    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 32
    max_length: int = 64
    seed: int = 13
    split_seed: int | None = None
    val_frac: float = 0.1
    patience: int = 2
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    group_by_length: bool = True
    threads: int | None = None
    name: str | None = None
    recipe: str = "plain"
    teachers: int = 2
    distil_alpha: float = 0.5
    temperature: float = 2.0
    teachers_dir: str | None = None
    pooling: str = "auto"
    layer_decay: float = 1.0

    def check(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append("epochs must be >= 1")
        if not 0 < self.lr < 1:
            problems.append("lr must be between 0 and 1")
        if self.batch_size < 1:
            problems.append("batch size must be >= 1")
        if not 8 <= self.max_length <= 512:
            problems.append("max length must be between 8 and 512")
        if not 0 < self.val_frac < 1:
            problems.append("val-frac must be between 0 and 1")
        if self.patience < 1:
            problems.append("patience must be >= 1")
        if not 0 <= self.warmup_ratio < 1:
            problems.append("warmup ratio must be in [0, 1)")
        if not 0 < self.layer_decay <= 1:
            problems.append("layer decay must be in (0, 1]")
        if self.pooling not in POOLINGS:
            problems.append(f"pooling must be one of {', '.join(POOLINGS)}, not {self.pooling!r}")
        if self.recipe not in RECIPES:
            problems.append(f"recipe must be one of {', '.join(RECIPES)}, not {self.recipe!r}")
        if self.recipe == "distil":
            if self.teachers < 1:
                problems.append("a distil recipe needs at least 1 teacher")
            if not 0 <= self.distil_alpha <= 1:
                problems.append("distil alpha must be in [0, 1]")
            if not 0 < self.temperature <= 20:
                problems.append("temperature must be in (0, 20]")
        if problems:
            raise TrainError("; ".join(problems))

    @property
    def held_out_seed(self) -> int:
        """The seed that picks the held-out rows: ``split_seed``, else ``seed``."""
        return self.seed if self.split_seed is None else self.split_seed


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    accuracy: float
    macro_f1: float
    weighted_f1: float
    seconds: float
    #: What chose the best epoch (weighted F1 for one three-class source; see
    #: nlp.sentiment.evaluate.selection_score). None in cards written before it existed.
    selection: float | None = None
