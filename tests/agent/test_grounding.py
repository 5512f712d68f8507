"""Number verification and link stripping."""

from __future__ import annotations

from agent.grounding import clean_links, verify


def test_numbers_match_within_rounding_and_unmatched_sentences_go() -> None:
    allowed = [56.2312, -3.14159, 7.0]
    check = verify(
        "ETH's index is 56.2 and 56.23. It fell 3.1 points in 7 days. It will reach 4,000.",
        allowed,
    )
    assert check.text == "ETH's index is 56.2 and 56.23. It fell 3.1 points in 7 days."
    assert check.numbers == 5 and check.verified == 4 and check.removed
    assert verify("Index 56.3 today.", allowed).verified == 0  # 56.23 does not round to 56.3


def test_dates_must_be_the_asof_day_or_a_citation_day() -> None:
    assert verify("As of 2024-03-15 all is calm.", [], ["2024-03-15"]).groundedness == 1.0
    assert verify("On 2025-01-01 it crashed.", [], ["2024-03-15"]).text == ""


def test_only_citation_links_survive() -> None:
    text = "Read ![x](http://evil.test/p.png) [this](http://evil.test) https://ok.test/a"
    assert clean_links(text, ["https://ok.test/a"]) == "Read  this https://ok.test/a"
