"""Entities: places (old and new names, any register), ages and ticket codes."""

from __future__ import annotations

import unicodedata

import pytest
from rasa.shared.nlu.training_data.message import Message

from nlu.entities import VietnameseEntityExtractor, extract_entities
from nlu.places import find_places


def _values(text, entity):
    return [e["value"] for e in extract_entities(text) if e["entity"] == entity]


@pytest.mark.parametrize(
    "text, places",
    [
        (
            "Tôi ở xã Mỹ Hiệp, huyện Cao Lãnh, Đồng Tháp",
            ["xã Mỹ Hiệp", "huyện Cao Lãnh", "Đồng Tháp"],
        ),
        ("em o phuoc long binh phuoc", ["phuoc long", "binh phuoc"]),
        ("nha o Cai Be tien giang", ["Cai Be", "tien giang"]),
        ("thi xa Phuoc Long nha", ["thi xa Phuoc Long"]),
        ("sống ở p. 3 tp Cao Lãnh", ["p. 3", "tp Cao Lãnh"]),
        ("tp hcm", ["tp hcm"]),
        ("mình ở Sài Gòn", ["Sài Gòn"]),
    ],
)
def test_places_are_found_with_and_without_diacritics(text, places):
    assert _values(text, "location") == places


@pytest.mark.parametrize(
    "text",
    [
        "chỉ mong gia đình hòa bình",  # peace, not the province
        "em bị bắt nạt ở trường",
        "toi muon tu tu",
        "chúng tôi thống nhất rồi",
    ],
)
def test_ordinary_words_are_not_places(text):
    assert find_places(text) == []


def test_an_ambiguous_name_is_a_place_when_capitalized():
    assert [p.text for p in find_places("Tôi ở Hòa Bình")] == ["Hòa Bình"]


@pytest.mark.parametrize(
    "text, age", [("em 14t", "14"), ("con tôi 5 tuổi", "5"), ("toi 30 tuoi", "30")]
)
def test_ages(text, age):
    assert _values(text, "age") == [age]


def test_numbers_that_are_not_ages():
    assert _values("lớp 10 năm 2024, 500 tuổi", "age") == []


@pytest.mark.parametrize("text", ["mã HT-7KQ2MX", "ma ht7kq2mx", "mã HT 7KQ2MX ạ"])
def test_ticket_codes_in_any_case_and_spacing(text):
    assert _values(text, "ticket_code") == ["HT-7KQ2MX"]


def test_ticket_codes_never_contain_ambiguous_characters():
    assert _values("HT-7KQ2M0 HT-IIIIII", "ticket_code") == []


def test_spans_point_into_nfd_text_and_values_are_nfc():
    text = unicodedata.normalize("NFD", "Tôi 30 tuổi ở Đồng Tháp")
    entities = extract_entities(text)
    place = next(e for e in entities if e["entity"] == "location")
    assert unicodedata.normalize("NFC", text[place["start"] : place["end"]]) == "Đồng Tháp"
    assert place["value"] == "Đồng Tháp"


def test_component_appends_entities_to_messages():
    extractor = VietnameseEntityExtractor()
    message = Message(data={"text": "em 14 tuổi ở Đồng Nai"})
    extractor.process([message])
    assert [(e["entity"], e["extractor"]) for e in message.get("entities")] == [
        ("age", "VietnameseEntityExtractor"),
        ("location", "VietnameseEntityExtractor"),
    ]


@pytest.mark.parametrize(
    "text, number",
    [
        ("sđt e nè 0912345670", "0912345670"),
        ("so cua toi 84903445567", "0903445567"),
        ("Số máy bàn nhà tôi là 0277 3851 234", "02773851234"),
        ("gọi +84 912 000 111 giúp tôi", "0912000111"),
        ("0912.345.678", "0912345678"),
    ],
)
def test_vietnamese_phone_numbers_are_normalized(text, number):
    assert _values(text, "phone_number") == [number]


@pytest.mark.parametrize("text", ["em 14 tuổi năm 2024", "mã 0123", "số 0112345678", "091234567"])
def test_other_numbers_are_not_phone_numbers(text):
    assert _values(text, "phone_number") == []
