"""Schema migrations on SQLite and PostgreSQL: an old database keeps every row, the migrated
schema is exactly the models, and opening is safe (fresh, repeated, concurrent, too new)."""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from core.records import Frequency, IngestWarning, Label, RegisteredModel, Signal, StudyRun
from core.store import SchemaError, Store, migrate
from core.store.migrate import alembic_config
from core.store.tables import metadata
from tests.core import pre_0001
from tests.core.pre_0001 import DOC_NEWS, DOC_POST, PLACEHOLDER_TABLES, REAL_TABLES, T

MODEL_TABLES = {t.name for t in metadata.sorted_tables}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of this test's own, on each dialect."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cryptosense.db'}"
    url: str = request.getfixturevalue("empty_pg_url")
    return url


@pytest.fixture
def plain(empty_url: str) -> Iterator[Engine]:
    """A plain engine on the same database, for raw SQL that does not go through the store."""
    engine = create_engine(empty_url)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _revision(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]


def _migrations(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The "database ... migrated from ... to ..." records (one per migration run)."""
    return [
        r
        for r in caplog.records
        if r.name == "core.store.migrate" and "migrated from" in r.getMessage()
    ]


def _differences(engine: Engine, target: sa.MetaData = metadata) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, target))


# --- (a) a database from before migrations ---------------------------------------------------


def test_database_from_before_migrations_keeps_every_row_after_upgrade(
    empty_url: str, plain: Engine
) -> None:
    pre_0001.build(empty_url)
    pre_0001.fill(plain, pre_0001.rows())
    before = pre_0001.snapshot(plain, REAL_TABLES)
    assert all(before[t] for t in REAL_TABLES)

    store = Store.open(empty_url)
    try:
        # Raw rows, byte for byte, and the schema at head without the placeholder tables.
        assert pre_0001.snapshot(plain, REAL_TABLES) == before
        assert _revision(plain) == [migrate.head()]
        assert _tables(plain) == MODEL_TABLES | {"alembic_version"}
        assert _differences(plain) == []

        # The same rows through the store's API, typed.
        news = store.documents.get(DOC_NEWS)
        post = store.documents.get(DOC_POST)
        assert news is not None and post is not None
        assert (news.assets, news.published_at, news.author) == (("BTC", "ETH"), T, "A. Writer")
        assert (post.warnings, post.metadata) == (("truncated",), {"score": 12, "num_comments": 3})
        assert post.ingested_at == datetime.fromisoformat("2024-03-01T12:31:05.250000+00:00")
        assert store.documents.sources(DOC_NEWS) == ["rss:coindesk", "rss:mirror"]
        score = store.scores.get(DOC_POST, "m1")
        assert score is not None and score.label is Label.NEGATIVE and score.scored_at == T
        assert store.score_cache.lookup("m1", ["c" * 64]) == {"c" * 64: (0.25, 0.5, 0.25)}
        [point] = store.index.points("BTC", Frequency.HOUR, "m1")
        assert (point.index, point.zscore, point.asof.hour) == (52.5, None, 13)
        [candle] = store.market.candles("bitstamp", "BTC/USD", "1h")
        assert (candle.close, candle.volume_quote, candle.ts) == (62400.25, None, T)
        assert store.market.last_onchain_day("btc", "coinmetrics") == date(2024, 3, 1)
        state = store.sources.state("rss:coindesk")
        assert (state.cursor["etag"], state.items_today, state.items_day) == (
            "W/abc",
            17,
            date(2024, 3, 1),
        )
        assert store.sources.state("reddit:Bitcoin").circuit_open_until is not None
        assert [w.reason for w in store.sources.warnings()] == ["not-english", "malformed-xml"]

        # Writing continues where the old database stopped (the warnings' id sequence too).
        store.sources.add_warnings([IngestWarning(source="rss:x", reason="new", at=T)])
        assert [w.reason for w in store.sources.warnings(limit=1)] == ["new"]
        with plain.connect() as conn:
            assert conn.execute(text("SELECT max(id) FROM ingest_warnings")).scalar_one() == 3
    finally:
        store.close()


def test_old_database_lacking_a_later_table_gets_it_and_keeps_its_rows(
    empty_url: str, plain: Engine
) -> None:
    pre_0001.build(empty_url)
    with plain.begin() as conn:
        conn.execute(text("DROP TABLE sentiment_cache"))
    rows = pre_0001.rows()
    del rows["sentiment_cache"]
    pre_0001.fill(plain, rows)
    kept = tuple(t for t in REAL_TABLES if t != "sentiment_cache")
    before = pre_0001.snapshot(plain, kept)

    Store.open(empty_url).close()
    assert pre_0001.snapshot(plain, kept) == before
    assert "sentiment_cache" in _tables(plain)
    assert _differences(plain) == []


def test_rows_in_a_placeholder_table_stop_the_upgrade_and_lose_nothing(
    empty_url: str, plain: Engine
) -> None:
    pre_0001.build(empty_url)
    pre_0001.fill(plain, pre_0001.rows())
    placeholders = pre_0001.placeholder_rows()
    pre_0001.fill(plain, {"briefings": placeholders["briefings"]})
    before = pre_0001.snapshot(plain, (*REAL_TABLES, "briefings"))

    with pytest.raises(SchemaError, match="'briefings', but it holds 1 rows") as err:
        Store.open(empty_url)
    assert "\n" not in str(err.value)
    # 0002 had dropped signals and subscriptions before it met briefings: its transaction
    # rolled back, so they are all still there, and the database stays at 0001.
    assert _tables(plain) >= set(PLACEHOLDER_TABLES)
    assert _revision(plain) == ["0001"]
    assert pre_0001.snapshot(plain, (*REAL_TABLES, "briefings")) == before

    with plain.begin() as conn:
        conn.execute(text("DELETE FROM briefings"))
    Store.open(empty_url).close()
    assert _revision(plain) == [migrate.head()]
    assert not _tables(plain) & set(PLACEHOLDER_TABLES)


def test_database_at_0002_holding_data_gains_the_fusion_tables_and_keeps_its_rows(
    empty_url: str, plain: Engine
) -> None:
    with plain.connect() as conn:
        command.upgrade(alembic_config(conn), "0002")
        conn.commit()
    pre_0001.fill(plain, pre_0001.rows())
    before = pre_0001.snapshot(plain, REAL_TABLES)

    store = Store.open(empty_url)
    try:
        assert pre_0001.snapshot(plain, REAL_TABLES) == before
        assert _revision(plain) == [migrate.head()]
        assert _differences(plain) == []
        # The new tables take a signal, its outcome, a run and a registry entry, and give
        # them back as written.
        sig = Signal(
            asset="BTC",
            ts=T,
            horizon="1d",
            prob_up=0.55,
            action="long",
            model_version="m",
            features_asof=T,
            timeframe="1d",
            position=0.1,
            reasons=(),
            contributions={"ret_1": 0.02},
            data_age_bars=0.5,
        )
        store.signals.add([sig])
        assert store.signals.get("BTC", "1d", "1d", T) == sig.model_copy(update={"asof": T})
        run = store.studies.add_run(
            StudyRun(
                asset="BTC",
                timeframe="1d",
                created_at=T,
                config={},
                data={},
                content_sha256="0" * 64,
                code={},
                seed=7,
                chosen="price",
                gate_passed=False,
                verdict="no model: x",
                card_sha256="1" * 64,
                card_json="{}\n",
            )
        )
        assert store.studies.run(run.id or 0) == run
        entry = RegisteredModel(
            asset="BTC",
            timeframe="1d",
            horizon="1d",
            version="v",
            created_at=T,
            promoted=False,
            reasons=("x",),
            run_id=run.id,
            model_json="{}",
        )
        assert store.studies.register(entry).model_copy(update={"id": None}) == entry
    finally:
        store.close()


# --- (b) the migrated schema is the models ----------------------------------------------------


def test_migrated_schema_matches_the_models(empty_url: str, plain: Engine) -> None:
    Store.open(empty_url).close()
    assert _differences(plain) == []
    # ...and the comparison has teeth: a model column without a revision is a difference.
    changed = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["documents"].append_column(sa.Column("summary", sa.String(200)))
    assert [d[0] for d in _differences(plain, changed)] == ["add_column"]


# --- (c) opening is safe ------------------------------------------------------------------


def test_fresh_database_is_built_from_the_first_revision_to_head(
    empty_url: str, plain: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.store.migrate")
    Store.open(empty_url).close()
    assert _tables(plain) == MODEL_TABLES | {"alembic_version"}
    assert _revision(plain) == [migrate.head()]
    assert [r.getMessage().split(" migrated from ")[1] for r in _migrations(caplog)] == [
        f"empty to {migrate.head()}"
    ]


def test_opening_an_up_to_date_database_again_migrates_nothing(
    empty_url: str, plain: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.store.migrate")
    Store.open(empty_url).close()
    caplog.clear()
    Store.open(empty_url).close()
    assert _migrations(caplog) == []
    assert _revision(plain) == [migrate.head()]


def test_database_newer_than_the_code_is_refused_untouched(empty_url: str, plain: Engine) -> None:
    Store.open(empty_url).close()
    with plain.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        conn.execute(text("CREATE TABLE from_the_future (id INTEGER PRIMARY KEY)"))
    with pytest.raises(SchemaError) as err:
        Store.open(empty_url)
    message = str(err.value)
    assert "revision 9999" in message and f"newest is {migrate.head()}" in message
    assert "\n" not in message
    assert _revision(plain) == ["9999"]
    assert "from_the_future" in _tables(plain)


def test_processes_starting_at_once_migrate_the_database_once(
    empty_url: str, plain: Engine
) -> None:
    ctx = multiprocessing.get_context("spawn")
    starters = 3
    barrier = ctx.Barrier(starters)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_open_when_all_ready, args=(empty_url, barrier, results))
        for _ in range(starters)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert sorted(outcomes) == [("ok", 0)] * (starters - 1) + [("ok", 1)]
    assert _revision(plain) == [migrate.head()]


def _open_when_all_ready(url: str, barrier: Any, results: Any) -> None:
    """In a child process: open the store together with the others, then report whether
    this process was the one that migrated."""
    messages: list[str] = []
    logger = logging.getLogger("core.store.migrate")
    logger.setLevel(logging.INFO)
    logger.addHandler(_Collect(messages))
    barrier.wait()
    try:
        Store.open(url).close()
    except BaseException as err:  # reported to the parent, which fails the test
        results.put(("error", repr(err)))
        return
    results.put(("ok", sum("migrated from" in m for m in messages)))


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__()
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


def test_threads_opening_at_once_migrate_the_database_once(
    empty_url: str, plain: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.store.migrate")
    starters = 4
    barrier = threading.Barrier(starters)
    opened: list[Store] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            opened.append(Store.open(empty_url))
        except BaseException as err:  # collected, asserted below
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for store in opened:
        store.close()
    assert errors == []
    assert len(opened) == starters
    assert len(_migrations(caplog)) == 1
    assert _revision(plain) == [migrate.head()]


def test_downgrade_to_the_first_revision_and_back(empty_url: str, plain: Engine) -> None:
    Store.open(empty_url).close()
    with plain.connect() as conn:
        command.downgrade(alembic_config(conn), "0001")
        conn.commit()
    assert _tables(plain) >= set(PLACEHOLDER_TABLES)
    assert _revision(plain) == ["0001"]
    Store.open(empty_url).close()
    assert _tables(plain) == MODEL_TABLES | {"alembic_version"}


def test_revisions_form_one_line_from_0001_to_head() -> None:
    scripts = list(ScriptDirectory.from_config(alembic_config()).walk_revisions())
    assert [s.revision for s in scripts][-1] == migrate.FIRST
    assert scripts[0].revision == migrate.head()
    for newer, older in itertools.pairwise(scripts):
        assert newer.down_revision == older.revision
        assert int(newer.revision) == int(older.revision) + 1
