"""The Vietnamese tokenizer: words from underthesea, spans in the original text."""

from __future__ import annotations

import unicodedata

import pytest
from rasa.shared.nlu.training_data.message import Message

from nlu.tokenizer import VietnameseTokenizer, tokenize_text


def _check_spans(text):
    tokens = tokenize_text(text)
    for token in tokens:
        assert 0 <= token.start < token.end <= len(text)
    starts = [t.start for t in tokens]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(tokens, tokens[1:])), "tokens overlap"
    return tokens


def test_multi_syllable_words_are_one_token_with_underscores():
    tokens = _check_spans("Em muốn nói chuyện với ai đó")
    assert "nói_chuyện" in [t.text for t in tokens]


def test_lemma_is_the_word_without_diacritics():
    assert [t.lemma for t in tokenize_text("Chồng tôi muốn nói chuyện")] == [
        "chong",
        "toi",
        "muon",
        "noi_chuyen",
    ]


def test_unaccented_text_gives_the_same_syllables_whatever_the_segmentation():
    def syllables(text):
        return [s for t in tokenize_text(text) for s in t.lemma.split("_")]

    assert syllables("Chồng tôi đánh tôi") == syllables("chong toi danh toi")


def test_teencode_tokens_keep_the_span_of_what_was_typed():
    text = "ck e đánh e 😭"
    tokens = _check_spans(text)
    assert [(t.text, text[t.start : t.end]) for t in tokens] == [
        ("chồng", "ck"),
        ("em", "e"),
        ("đánh", "đánh"),
        ("em", "e"),
        ("buồn", "😭"),
    ]


def test_an_expanded_abbreviation_stays_one_token():
    tokens = _check_spans("ntn z")
    assert tokens[0].text == "như_thế_nào" and (tokens[0].start, tokens[0].end) == (0, 3)


@pytest.mark.parametrize(
    "text",
    [
        unicodedata.normalize("NFD", "Hoà Bình, thuỷ lợi, tự tử"),
        "hoà thuỷ quáaaa!!!",
        "<script>alert(1)</script> '; DROP TABLE users; --",
        "😭😭😭",
        "???",
        "HT-7KQ2MX 14t 0912.345.678 tp.hcm",
        "x" * 10_000,
    ],
)
def test_unusual_input_never_breaks_spans(text):
    _check_spans(text)


def test_words_never_span_punctuation():
    tokens = tokenize_text("Tôi ở Hoà Bình, thuỷ lợi tốt")
    assert all("," not in "Tôi ở Hoà Bình, thuỷ lợi tốt"[t.start : t.end] for t in tokens)


def test_empty_text_has_no_tokens():
    assert tokenize_text("") == []
    assert tokenize_text("   ") == []


def test_component_tokenizes_rasa_messages():
    tokenizer = VietnameseTokenizer(VietnameseTokenizer.get_default_config())
    message = Message(data={"text": "e ko muốn đi học"})
    tokenizer.process([message])
    assert [t.text for t in message.get("text_tokens")] == ["em", "không", "muốn", "đi", "học"]
