"""Write the schema that ``Store.create_all()`` built before issue 9, as plain DDL.

The files beside this script are test data for the upgrade test: a database built from them
is what a user's ``var/`` looked like before migrations existed. They were made once, from
main at ae79537 (the last commit before the store was split and Alembic added), with::

    git worktree add /tmp/pre-0001 ae79537
    PYTHONPATH=/tmp/pre-0001 python tests/data/schema/generate_pre_0001.py tests/data/schema

Run against today's code it would print today's schema instead, so do not regenerate them:
they must stay what old databases really contain.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_mock_engine
from sqlmodel import SQLModel

import core.store  # noqa: F401  (registers the tables on SQLModel.metadata)

HEADER = """-- The schema core/store.py created (SQLModel.metadata.create_all) before issue 9:
-- {dialect}.
-- Generated once from main at ae79537 by tests/data/schema/generate_pre_0001.py; do not edit
-- or regenerate: the upgrade test builds an "old" database from it.
"""


def ddl(url: str) -> str:
    statements: list[str] = []

    def executor(sql: Any, *_: Any, **__: Any) -> None:
        statements.append(str(sql.compile(dialect=engine.dialect)).strip() + ";")

    engine = create_mock_engine(url, executor)
    SQLModel.metadata.create_all(engine, checkfirst=False)
    return "\n\n".join(statements) + "\n"


def main(folder: Path) -> None:
    for dialect, url in (("sqlite", "sqlite://"), ("postgresql", "postgresql+psycopg://")):
        target = folder / f"pre_0001_{dialect}.sql"
        target.write_text(HEADER.format(dialect=dialect) + "\n" + ddl(url))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
