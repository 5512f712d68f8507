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


def test_a_true_number_attributed_to_another_asset_is_removed() -> None:
    owners = [(68.04, "ETH"), (55.0, "ETC"), (7.0, None)]
    allowed = [v for v, _ in owners]
    text = (
        "ETH's index is 68.04 over 7 days. It is higher than Ethereum Classic's 68.04. "
        "Ethereum Classic sits at 55.00."
    )
    check = verify(text, allowed, owners=owners)
    assert check.text == "ETH's index is 68.04 over 7 days. Ethereum Classic sits at 55.00."
    assert check.removed == ["It is higher than Ethereum Classic's 68.04."]


def test_advice_predictions_and_bare_verdicts_are_removed() -> None:
    text = (
        "Yes, you should buy BTC now. The price target for BTC is 60.00%. BTC will reach "
        "the top. Yes, BTC is risky. No stored data says otherwise. The hit rate is 75."
    )
    check = verify(text, [60.0, 75.0])
    assert check.text == "No stored data says otherwise. The hit rate is 75."
