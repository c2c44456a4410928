"""Text normalization: one normal form for the three registers, spans kept."""

from __future__ import annotations

import unicodedata

import pytest

from nlu.normalize import (
    emoji_table,
    fold,
    has_diacritics,
    normalize_text,
    normalize_word,
    pieces,
    squeeze_elongation,
    strip_diacritics,
    teencode_table,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ck e đánh e quáaaa 😭", "chồng em đánh em quá buồn"),
        ("e ko muốn đến trường nữa", "em không muốn đến trường nữa"),
        ("ntn z ad?", "như thế nào vậy admin"),
        ("Hoà thuỷ", "hòa thủy"),
        ("chong toi hay danh toi", "chong toi hay danh toi"),
        ("tks ad nhiềuuuu", "cảm ơn admin nhiều"),
    ],
)
def test_the_three_registers_reach_one_normal_form(text, expected):
    assert normalize_text(text) == expected


def test_fold_removes_every_mark_including_d_bar():
    assert fold("Chồng tôi hay ĐÁNH tôi, đau lắm") == "chong toi hay danh toi, dau lam"
    assert strip_diacritics("Đồng Tháp") == "Dong Thap"


def test_register_detection():
    assert has_diacritics("chồng tôi")
    assert not has_diacritics("chong toi")


def test_elongation_keeps_the_toned_letter_and_real_double_letters():
    assert squeeze_elongation("quáaaa") == "quá"
    assert squeeze_elongation("điiii") == "đi"
    assert squeeze_elongation("xoong") == "xoong"


def test_pieces_point_into_the_original_text_even_when_it_is_nfd():
    text = unicodedata.normalize("NFD", "Chồng tôi muốn tự tử")
    found = pieces(text)
    assert [text[p.start : p.end] for p in found] == [p.raw for p in found]
    assert [p.norm for p in found] == ["chồng", "tôi", "muốn", "tự", "tử"]


def test_punctuation_and_unknown_symbols_are_dropped():
    assert normalize_text("??? !!! ✈") == ""


def test_a_ten_thousand_character_message_is_handled():
    assert normalize_text("a" * 10_000) == "a"
    assert len(pieces("xin chào " * 1200)) == 2400


@pytest.mark.parametrize("form, standard", sorted(teencode_table().items()))
def test_every_teencode_entry_is_applied(form, standard):
    assert normalize_word(form) == standard


@pytest.mark.parametrize("emoji, meaning", sorted(emoji_table().items()))
def test_every_emoji_entry_is_applied(emoji, meaning):
    assert normalize_word(emoji) == meaning


def test_teencode_forms_are_single_words():
    assert all(" " not in form for form in teencode_table())
