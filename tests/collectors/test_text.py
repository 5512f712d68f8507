"""Text normalisation shared by every source: HTML to text, cleaning, charsets, language."""

from __future__ import annotations

import pytest

from collectors.text import (
    clean_text,
    decode_bytes,
    detect_language,
    html_to_text,
    looks_like_html,
    single_line,
    to_text,
)

# --- HTML -> text ------------------------------------------------------------------------------


def test_html_to_text_drops_scripts_styles_and_comments_with_their_content() -> None:
    markup = (
        "<p>Bitcoin <b>rallies</b></p>"
        "<script>steal(document.cookie)</script>"
        "<style>p { color: red }</style>"
        "<!-- tracking pixel -->"
        "<noscript>enable js</noscript>"
        "<p>ETH follows</p>"
    )
    assert html_to_text(markup) == "Bitcoin rallies\nETH follows"


def test_html_to_text_keeps_no_attribute_so_event_handlers_and_js_links_vanish() -> None:
    markup = (
        '<p onclick="alert(1)">Read</p>'
        '<a href="javascript:alert(2)">the story</a>'
        '<img src=x onerror="alert(3)">'
    )
    text = html_to_text(markup)
    assert text == "Read\nthe story"
    assert "alert" not in text and "javascript" not in text.lower()


def test_html_to_text_resolves_entities_once_and_keeps_escaped_literals() -> None:
    assert html_to_text("<p>AT&amp;T &lt;3 &eacute;t&eacute;</p>") == "AT&T <3 été"
    # "&amp;lt;" is the literal text "&lt;", not a second-level escape to undo
    assert html_to_text("<p>write &amp;lt; for &lt;</p>") == "write &lt; for <"


def test_html_to_text_of_a_whole_page_keeps_the_body_only() -> None:
    page = (
        "<html><head><title>Site name</title><script>x()</script></head>"
        "<body><h1>Solana outage ends</h1><ul><li>one</li><li>two</li></ul></body></html>"
    )
    assert html_to_text(page) == "Solana outage ends\none\ntwo"


@pytest.mark.parametrize("value", ["", "   ", "\n\t"])
def test_html_to_text_of_empty_markup_is_empty(value: str) -> None:
    assert html_to_text(value) == ""


def test_html_to_text_survives_nul_bytes_and_unclosed_tags() -> None:
    assert html_to_text("<p>bit\x00coin <b>up") == "bitcoin up"


# --- clean_text --------------------------------------------------------------------------------


def test_clean_text_unescapes_entities_and_collapses_whitespace() -> None:
    assert clean_text("  Ether\t&amp;  bitcoin\u00a0 rally \n\n\n next  ") == (
        "Ether & bitcoin rally\nnext"
    )


def test_clean_text_removes_control_and_zero_width_characters() -> None:
    assert clean_text("bit\u200bcoin\x07 \ufeffprice\x1b") == "bitcoin price"


@pytest.mark.parametrize(
    "value",
    [
        "click javascript:alert(1) now",
        "click JavaScript:alert(1) now",
        "click java\tscript:alert(1) now",
        "click vbscript:msgbox(1) now",
        "click data:text/html;base64,PHNjcmlwdD4= now",
    ],
)
def test_clean_text_removes_script_urls_even_when_disguised(value: str) -> None:
    assert clean_text(value) == "click now"


def test_clean_text_removes_script_blocks_that_came_as_escaped_plain_text() -> None:
    assert clean_text("hello &lt;script&gt;alert(1)&lt;/script&gt; world") == "hello world"


def test_to_text_treats_a_lone_less_than_sign_as_text_not_markup() -> None:
    assert not looks_like_html("BTC < $50k by Friday?")
    assert to_text("BTC < $50k by Friday?") == "BTC < $50k by Friday?"


def test_to_text_parses_plain_fields_that_carry_tags_anyway() -> None:
    assert looks_like_html("Bitcoin <b>up</b>")
    assert to_text("Bitcoin <b>up</b><script>x()</script>") == "Bitcoin up"
    assert to_text(None) == ""


def test_single_line_joins_lines_for_titles() -> None:
    assert single_line("Bitcoin\n  rallies \t again") == "Bitcoin rallies again"


# --- decode_bytes ------------------------------------------------------------------------------


def test_undeclared_windows_1252_bytes_are_detected_and_marked_repaired() -> None:
    decoded = decode_bytes("Café crème: le bitcoin s'envole à Zürich".encode("cp1252"))
    assert decoded.text == "Café crème: le bitcoin s'envole à Zürich"
    assert decoded.repaired
    assert "detected" in decoded.detail


def test_utf8_bytes_mislabelled_as_latin1_are_read_as_utf8() -> None:
    decoded = decode_bytes("Bitcoin dépasse 100 000 $ — été".encode(), ["ISO-8859-1"])
    assert decoded.text == "Bitcoin dépasse 100 000 $ — été"
    assert decoded.encoding == "utf-8"
    assert decoded.repaired and "iso8859-1" in decoded.detail


def test_a_wrong_first_claim_falls_back_to_the_next_claim() -> None:
    data = "Ether à 3 000 €".encode("cp1252")
    decoded = decode_bytes(data, ["utf-8", "windows-1252"])
    assert decoded.text == "Ether à 3 000 €"
    assert decoded.encoding == "cp1252"
    assert decoded.repaired and "utf-8" in decoded.detail


def test_a_correct_single_byte_claim_is_used_without_repair() -> None:
    decoded = decode_bytes("Ether à 3 000 €".encode("cp1252"), ["windows-1252"])
    assert (decoded.text, decoded.encoding, decoded.repaired) == (
        "Ether à 3 000 €",
        "cp1252",
        False,
    )


def test_undeclared_utf8_is_not_a_repair() -> None:
    decoded = decode_bytes("Ethereum — mise à jour".encode())
    assert (decoded.text, decoded.repaired) == ("Ethereum — mise à jour", False)


def test_byte_order_mark_wins_over_a_wrong_claim() -> None:
    data = "\ufeffBitcoin €".encode("utf-16-le")
    data = b"\xff\xfe" + data[2:]
    decoded = decode_bytes(data, ["iso-8859-1"])
    assert decoded.text == "Bitcoin €"
    assert decoded.encoding == "utf-16"


def test_cyrillic_koi8_r_without_a_declaration_is_detected() -> None:
    text = "Биткоин снова растёт, эфир тоже растёт на новостях"
    decoded = decode_bytes(text.encode("koi8-r"))
    assert decoded.text == text
    assert decoded.repaired


def test_unknown_charset_labels_are_ignored_and_reported() -> None:
    decoded = decode_bytes(b"plain ascii", ["x-no-such-charset"])
    assert decoded.text == "plain ascii"
    assert decoded.repaired and "x-no-such-charset" in decoded.detail


# --- language ----------------------------------------------------------------------------------


def test_detect_language_of_english_and_spanish_headlines() -> None:
    assert detect_language("Bitcoin climbs as spot ETF inflows reach a three week high") == "en"
    assert detect_language("El precio de bitcoin sube con fuerza tras la aprobación del ETF") == (
        "es"
    )


@pytest.mark.parametrize("value", ["", "BTC up", "$BTC $ETH https://example.com/x", "to the moon"])
def test_detect_language_returns_none_for_short_text(value: str) -> None:
    assert detect_language(value) is None


def test_detect_language_is_deterministic_across_calls() -> None:
    text = "Ether slips as staking withdrawals pile up ahead of the upgrade"
    assert {detect_language(text) for _ in range(5)} == {"en"}


def test_detect_language_reduces_regional_codes_to_iso_639_1() -> None:
    text = "比特币价格今天再次上涨，以太坊也随之上涨，市场情绪乐观。比特币是最大的加密货币。"
    assert detect_language(text) == "zh"
