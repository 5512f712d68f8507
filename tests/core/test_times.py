"""User-given times: ISO 8601 only, UTC, within the supported range."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from core.times import MAX_TIME, MIN_TIME, TimeParseError, parse_utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03-05T12:00:00Z", datetime(2024, 3, 5, 12, tzinfo=UTC)),
        ("2024-03-05T12:00", datetime(2024, 3, 5, 12, tzinfo=UTC)),
        (" 2024-03-05T14:00:00+02:00 ", datetime(2024, 3, 5, 12, tzinfo=UTC)),
    ],
)
def test_iso_dates_and_times_become_utc(text: str, expected: datetime) -> None:
    assert parse_utc(text) == expected


@pytest.mark.parametrize("text", ["20210101", "1609459200", "-5", "1.5", "", "yesterday"])
def test_numbers_and_words_are_refused_not_read_as_unix_seconds(text: str) -> None:
    with pytest.raises(TimeParseError):
        parse_utc(text)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1969-12-31"])
def test_times_outside_the_supported_range_are_refused(text: str) -> None:
    with pytest.raises(TimeParseError, match="outside the supported range"):
        parse_utc(text)


def test_datetime_and_date_objects_are_accepted() -> None:
    tz = timezone(timedelta(hours=-5))
    assert parse_utc(datetime(2024, 1, 1, 7, tzinfo=tz)) == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert parse_utc(date(2024, 1, 1)) == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_utc(MIN_TIME) == MIN_TIME
    assert parse_utc(MAX_TIME) == MAX_TIME


@pytest.mark.parametrize("value", [{}, [], 20240305, None])
def test_json_values_that_are_not_strings_are_refused_with_a_message(value: object) -> None:
    # A JSON body's "asof": {} reached this as a dict and raised AttributeError (a 500).
    with pytest.raises(TimeParseError, match="is not a time"):
        parse_utc(value)
