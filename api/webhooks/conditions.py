"""When a webhook fires: conditions on the published events, each stateless (the events
carry the previous values), so matching needs nothing but the event.

- ``index_crosses``: the index passed ``level`` since the previous update (``direction``
  up, down or any);
- ``zscore_beyond``: the z-score's magnitude reached ``threshold`` (it was below before);
- ``signal_changes``: a signal's action differs from the previous one of its asset.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.store.events import Event


class _Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndexCrosses(_Condition):
    type: Literal["index_crosses"]
    level: float = Field(strict=True, ge=0, le=100, description="index level, 0..100")
    direction: Literal["up", "down", "any"] = "any"

    def matches(self, event: Event) -> bool:
        if event.topic != "sentiment":
            return False
        now, before = _num(event.payload.get("index")), _num(event.payload.get("previous_index"))
        if now is None or before is None:
            return False
        up = before < self.level <= now
        down = before > self.level >= now
        return up if self.direction == "up" else down if self.direction == "down" else up or down


class ZscoreBeyond(_Condition):
    type: Literal["zscore_beyond"]
    threshold: float = Field(strict=True, gt=0, le=100, description="|z-score| at or above this")

    def matches(self, event: Event) -> bool:
        if event.topic != "sentiment":
            return False
        z, before = _num(event.payload.get("zscore")), _num(event.payload.get("previous_zscore"))
        return (
            z is not None
            and abs(z) >= self.threshold
            and (before is None or abs(before) < self.threshold)
        )


class SignalChanges(_Condition):
    type: Literal["signal_changes"]

    def matches(self, event: Event) -> bool:
        return (
            event.topic == "signal"
            and event.payload.get("previous_action") is not None
            and event.payload.get("action") != event.payload.get("previous_action")
        )


Condition = Annotated[IndexCrosses | ZscoreBeyond | SignalChanges, Field(discriminator="type")]


def matched(conditions: list[Condition], event: Event) -> list[dict[str, Any]]:
    """The conditions ``event`` meets, as they were registered."""
    return [c.model_dump() for c in conditions if c.matches(event)]


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
