"""The agent's aggregates: conversations (for follow-ups and the chat API) and briefings.

A conversation is a row and its numbered turns; :meth:`ConversationRepository.append` adds a
turn in one transaction (creating the conversation on its first turn). A briefing is one row
per day: putting a new one for a day replaces the old one (a rerun with later data), and the
stored SHA-256 of its Markdown and HTML tells two runs apart.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from core.store.engine import Database
from core.store.tables import BriefingRow, ConversationRow, TurnRow
from core.times import utcnow


class Turn(BaseModel):
    seq: int
    role: str
    content: str
    answer: dict[str, Any] | None = None
    created_at: datetime


class Briefing(BaseModel):
    """A daily briefing as made: Markdown and self-contained HTML, for ``day`` as of
    ``asof`` with ``seed``."""

    day: date
    asof: datetime
    seed: int = 0
    markdown: str
    html: str
    created_at: datetime

    @property
    def sha256(self) -> str:
        return hashlib.sha256((self.markdown + "\0" + self.html).encode()).hexdigest()


class BriefingMeta(BaseModel):
    day: date
    asof: datetime
    seed: int
    sha256: str
    created_at: datetime


class ConversationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def new(self) -> str:
        """A new, empty conversation's id."""
        cid = uuid.uuid4().hex
        now = utcnow()
        with self._db.session() as s, s.begin():
            s.add(ConversationRow(id=cid, created_at=now, updated_at=now))
        return cid

    def append(
        self, conversation_id: str, role: str, content: str, answer_json: dict[str, Any] | None
    ) -> int:
        """Add a turn (creating the conversation when new); returns its number."""
        now = utcnow()
        with self._db.session() as s, s.begin():
            conv = s.get(ConversationRow, conversation_id)
            if conv is None:
                s.add(ConversationRow(id=conversation_id, created_at=now, updated_at=now))
                s.flush()
            else:
                conv.updated_at = now
            last = s.execute(
                sa_select(func.max(TurnRow.seq)).where(
                    col(TurnRow.conversation_id) == conversation_id
                )
            ).scalar_one()
            seq = 0 if last is None else int(last) + 1
            s.add(
                TurnRow(
                    conversation_id=conversation_id,
                    seq=seq,
                    role=role,
                    content=content,
                    answer=answer_json,
                    created_at=now,
                )
            )
        return seq

    def exists(self, conversation_id: str) -> bool:
        with self._db.session() as s:
            return s.get(ConversationRow, conversation_id) is not None

    def history(self, conversation_id: str) -> list[Turn]:
        """The turns, oldest first (empty for an unknown conversation)."""
        with self._db.session() as s:
            rows = s.exec(
                select(TurnRow)
                .where(TurnRow.conversation_id == conversation_id)
                .order_by(col(TurnRow.seq))
            ).all()
            return [Turn.model_validate(r.model_dump()) for r in rows]


class BriefingRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, b: Briefing) -> None:
        """Store ``b``, replacing a stored briefing of the same day, in one transaction."""
        row = BriefingRow(
            day=b.day,
            asof=b.asof,
            seed=b.seed,
            sha256=b.sha256,
            markdown=b.markdown,
            html=b.html,
            created_at=b.created_at,
        )
        with self._db.session() as s, s.begin():
            old = s.get(BriefingRow, b.day)
            if old is not None:
                s.delete(old)
                s.flush()
            s.add(row)

    def get(self, day: date) -> Briefing | None:
        with self._db.session() as s:
            row = s.get(BriefingRow, day)
            if row is None:
                return None
            return Briefing(
                day=row.day,
                asof=row.asof,
                seed=row.seed,
                markdown=row.markdown,
                html=row.html,
                created_at=row.created_at,
            )

    def list(self) -> list[BriefingMeta]:
        """Every stored briefing, newest day first (without the documents)."""
        with self._db.session() as s:
            rows = s.execute(
                sa_select(
                    col(BriefingRow.day),
                    col(BriefingRow.asof),
                    col(BriefingRow.seed),
                    col(BriefingRow.sha256),
                    col(BriefingRow.created_at),
                ).order_by(col(BriefingRow.day).desc())
            ).all()
            return [
                BriefingMeta(day=r[0], asof=r[1], seed=r[2], sha256=r[3], created_at=r[4])
                for r in rows
            ]
