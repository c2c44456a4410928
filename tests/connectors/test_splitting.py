"""Long replies are cut on the coarsest boundary that fits, never inside a word or a
phone number."""

from __future__ import annotations

import re

import pytest

from connectors.splitting import split_text
from connectors.texts import load_crisis_text

PHONE = re.compile(r"\d[\d ]*\d")


def test_a_short_text_is_one_part():
    assert split_text("  Xin chào bạn.  ", 4096) == ["Xin chào bạn."]
    assert split_text("", 10) == []


def test_paragraphs_are_kept_whole_when_they_fit():
    paragraphs = ["Đoạn một có vài câu.", "Đoạn hai dài hơn một chút.", "Đoạn ba."]
    text = "\n\n".join(paragraphs)
    assert split_text(text, 50) == [
        "Đoạn một có vài câu.\n\nĐoạn hai dài hơn một chút.",
        "Đoạn ba.",
    ]


def test_a_long_paragraph_is_cut_at_lines_then_sentences_then_words():
    lines = "Dòng thứ nhất.\nDòng thứ hai."
    assert split_text(lines, 15) == ["Dòng thứ nhất.", "Dòng thứ hai."]
    sentences = "Câu một ngắn. Câu hai cũng ngắn."
    assert split_text(sentences, 20) == ["Câu một ngắn.", "Câu hai cũng ngắn."]
    words = "một hai ba bốn năm sáu bảy tám chín mười"
    parts = split_text(words, 12)
    assert all(len(part) <= 12 for part in parts)
    assert " ".join(parts) == words


@pytest.mark.parametrize("limit", [20, 25, 30, 45, 60, 100])
def test_phone_numbers_are_never_cut(limit):
    text = "Gọi ngay 1900 969 680 hoặc 0912 345 678, hoặc 111, 113, 115 khi cần. " * 20
    parts = split_text(text, limit)
    assert all(len(part) <= limit for part in parts)
    for part in parts:
        for number in PHONE.findall(part):
            assert number in ("1900 969 680", "0912 345 678", "111", "113", "115")


@pytest.mark.parametrize("limit", [2000, 300, 120])
def test_the_crisis_message_keeps_every_number_whole(limit):
    crisis = load_crisis_text()
    parts = split_text(crisis, limit)
    joined = "\n".join(parts)
    for number in ("115", "113", "111", "112", "1900 969 680"):
        assert number in joined
    assert all(len(part) <= limit for part in parts)


def test_words_are_never_cut_and_nothing_is_lost():
    text = ("Nhân viên công tác xã hội sẽ liên hệ với bạn trong thời gian sớm nhất. " * 80).strip()
    parts = split_text(text, 2000)
    assert all(len(part) <= 2000 for part in parts)
    assert " ".join(parts).split() == text.split()


def test_only_a_run_without_any_boundary_is_cut_hard():
    assert split_text("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]


def test_a_limit_must_be_positive():
    with pytest.raises(ValueError):
        split_text("x", 0)
