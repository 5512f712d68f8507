"""Asset tagging: tickers, cashtags and names, and the false positives it must avoid."""

from __future__ import annotations

import pytest

from collectors.assets import AssetTagger
from core.settings import AssetSpec, load_settings


@pytest.fixture(scope="module")
def tagger() -> AssetTagger:
    return AssetTagger()


# --- tickers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BTC breaks $100k", ("BTC",)),
        ("ETH, SOL and XRP lead gains", ("ETH", "SOL", "XRP")),
        ("DOGE and ADA lag", ("ADA", "DOGE")),
        ("ETH/BTC ratio at a low", ("BTC", "ETH")),
        ("BTC-USD perpetual funding flips", ("BTC",)),
        ("Why BTC's rally matters", ("BTC",)),
    ],
)
def test_upper_case_tickers_match_as_whole_words(
    tagger: AssetTagger, text: str, expected: tuple[str, ...]
) -> None:
    assert tagger.tag(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "btc eth sol doge ada",  # tickers count in upper case only
        "BTCUSD and ETHUSDT tickers",  # glued pairs are not words
        "ADAPT the SOLVER to XRPL",  # inside longer words
    ],
)
def test_tickers_do_not_match_in_lower_case_or_inside_words(tagger: AssetTagger, text: str) -> None:
    assert tagger.tag(text) == ()


def test_xrp_is_also_a_name_so_lower_case_counts(tagger: AssetTagger) -> None:
    assert tagger.tag("buying more xrp today") == ("XRP",)


def test_ambiguous_tickers_need_a_cashtag_or_name(tagger: AssetTagger) -> None:
    assert tagger.tag("DOT issues new rules; LINK in bio; see page 4 etc.") == ()
    assert tagger.tag("$DOT and $link rally") == ("DOT", "LINK")
    assert tagger.tag("Polkadot and Chainlink rally") == ("DOT", "LINK")


def test_shouted_text_does_not_match_bare_tickers_but_matches_names(tagger: AssetTagger) -> None:
    assert tagger.tag("EL SOL BRILLA SOBRE LA CIUDAD ESTA MAÑANA") == ()
    assert tagger.tag("BITCOIN AND ETHER SURGE AS SOL HOLDERS WAIT") == ("BTC", "ETH")


def test_a_short_all_caps_list_of_tickers_still_matches(tagger: AssetTagger) -> None:
    assert tagger.tag("BTC ETH SOL") == ("BTC", "ETH", "SOL")


# --- cashtags ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$BTC to the moon", ("BTC",)),
        ("loading up on $eth and $Sol", ("ETH", "SOL")),
        ("$doge $ada $xrp", ("ADA", "DOGE", "XRP")),
    ],
)
def test_cashtags_match_in_any_case(
    tagger: AssetTagger, text: str, expected: tuple[str, ...]
) -> None:
    assert tagger.tag(text) == expected


def test_dollar_amounts_and_glued_cashtags_are_not_assets(tagger: AssetTagger) -> None:
    assert tagger.tag("paid $5 for $$ADA and $ETHER2") == ()


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bitcoin miners sell", ("BTC",)),
        ("bitcoins mined today", ("BTC",)),
        ("bitcoin's dominance", ("BTC",)),
        ("Ethereum devs ship upgrade", ("ETH",)),
        ("Ether slips 4%", ("ETH",)),
        ("SOLANA network record", ("SOL",)),
        ("Ripple wins appeal", ("XRP",)),
        ("Dogecoin jumps", ("DOGE",)),
        ("cardano treasury vote", ("ADA",)),
    ],
)
def test_names_match_case_insensitively_on_word_boundaries(
    tagger: AssetTagger, text: str, expected: tuple[str, ...]
) -> None:
    assert tagger.tag(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "whether markets recover is unclear",
        "Ethernet cables and ethereal music",
        "el sol brilla y la playa está llena",  # Spanish "sol"
        "Ada Lovelace wrote the first program",  # a name, not the ADA ticker
        "the ripple effect of rate cuts",
        "bitcoinist.com and solanabeach",  # names inside longer words
    ],
)
def test_common_words_are_not_assets(tagger: AssetTagger, text: str) -> None:
    assert tagger.tag(text) == ()


def test_forks_named_after_a_coin_tag_the_fork_not_the_coin(tagger: AssetTagger) -> None:
    assert tagger.tag("Bitcoin Cash rallies") == ("BCH",)
    assert tagger.tag("Ethereum Classic hard fork") == ("ETC",)
    assert tagger.tag("Bitcoin Cash and bitcoin both up") == ("BCH", "BTC")


def test_result_is_sorted_and_deduplicated(tagger: AssetTagger) -> None:
    assert tagger.tag("ETH $eth Ether ethereum BTC bitcoin $BTC") == ("BTC", "ETH")
    assert tagger.tag("") == ()


# --- extras from settings ----------------------------------------------------------------------


def test_configured_extra_assets_match_by_ticker_cashtag_and_name() -> None:
    tagger = AssetTagger([AssetSpec(symbol="pepe", names=("pepe coin",))])
    assert tagger.tag("PEPE rallies") == ("PEPE",)
    assert tagger.tag("$pepe rallies") == ("PEPE",)
    assert tagger.tag("Pepe  Coin rallies") == ("PEPE",)


def test_short_extra_tickers_match_only_as_cashtag_or_name() -> None:
    tagger = AssetTagger([AssetSpec(symbol="OP", names=("optimism",))])
    assert tagger.tag("OP-ED: markets") == ()
    assert tagger.tag("$OP and Optimism") == ("OP",)


def test_an_extra_for_a_builtin_symbol_adds_names() -> None:
    tagger = AssetTagger([AssetSpec(symbol="BTC", names=("sats",))])
    assert tagger.tag("stacking sats") == ("BTC",)
    assert tagger.tag("Bitcoin Cash") == ("BCH",)


def test_tagger_from_settings_uses_assets_extra(tmp_path: object) -> None:
    settings = load_settings(
        data_dir=tmp_path, assets={"extra": [{"symbol": "LINK", "names": ["chainlink"]}]}
    )
    tagger = AssetTagger.from_settings(settings.assets)
    assert tagger.tag("Chainlink oracles") == ("LINK",)
    assert {"BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "LINK"} <= set(tagger.symbols)
