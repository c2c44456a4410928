"""Resolving what people type as a place to the units in force since 1 July 2025."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.errors import PlaceTextError
from knowledge.models import Commune, Province
from knowledge.places import resolve_place


def test_the_current_units_are_loaded(session: Session) -> None:
    assert session.scalar(select(func.count()).select_from(Province)) == 34
    assert session.scalar(select(func.count()).select_from(Commune)) == 3321
    # Two communes of Đồng Tháp differ only by a tone mark; both keep their real names.
    names = set(
        session.scalars(
            select(Commune.name).join(Province).where(Province.name == "Tỉnh Đồng Tháp")
        )
    )
    assert {"Xã Tân Thành", "Xã Tân Thạnh", "Xã Mỹ Hiệp", "Phường Cao Lãnh"} <= names


@pytest.mark.parametrize(
    "text",
    [
        "xa My Hiep, huyen Cao Lanh, Dong Thap",
        "Xã Mỹ Hiệp, Huyện Cao Lãnh, Tỉnh Đồng Tháp",
        "XÃ MỸ HIỆP, ĐỒNG THÁP",
        "my hiep dong thap",
        "Mỹ Hiệp Cao Lãnh Đồng Tháp",
        "x. Mỹ Hiệp, h. Cao Lãnh, t. Đồng Tháp",
        "em ở xã mỹ hiệp nha",
    ],
)
def test_a_commune_written_any_way_resolves_to_the_current_commune(
    session: Session, text: str
) -> None:
    place = resolve_place(session, text)
    assert (place.province, place.commune) == ("Tỉnh Đồng Tháp", "Xã Mỹ Hiệp")
    assert place.candidates == ()


def test_a_former_town_resolves_to_its_new_province_and_lists_the_wards(session: Session) -> None:
    place = resolve_place(session, "thị xã Phước Long, Bình Phước")
    assert place.province == "Tỉnh Đồng Nai"
    assert place.commune is None
    assert {candidate.commune for candidate in place.candidates} == {
        "Phường Phước Long",
        "Phường Phước Bình",
    }
    assert "Tỉnh Bình Phước (cũ) nay thuộc Tỉnh Đồng Nai" in place.why


def test_a_former_ward_under_its_former_city_resolves_to_one_ward(session: Session) -> None:
    place = resolve_place(session, "phường 1, tp Mỹ Tho, Tiền Giang")
    assert place.province == "Tỉnh Đồng Tháp"
    assert place.commune is not None
    assert "Phường 1" in place.why and "(cũ)" in place.why


def test_an_ambiguous_name_gives_candidates_not_a_guess(session: Session) -> None:
    place = resolve_place(session, "Cao Lãnh")
    assert place.commune is None
    communes = {candidate.commune for candidate in place.candidates}
    assert "Phường Cao Lãnh" in communes  # the current ward
    assert "Xã Mỹ Hiệp" in communes  # a commune of the former huyện Cao Lãnh
    assert len(communes) > 2
    # Every reading lies in Đồng Tháp, so the province is known without guessing.
    assert place.province == "Tỉnh Đồng Tháp"


def test_tone_marks_decide_between_names_that_fold_alike(session: Session) -> None:
    with_marks = resolve_place(session, "xã Tân Thạnh, Đồng Tháp")
    assert with_marks.commune == "Xã Tân Thạnh"
    without_marks = resolve_place(session, "xa tan thanh, dong thap")
    assert without_marks.commune is None
    assert {c.commune for c in without_marks.candidates} == {"Xã Tân Thành", "Xã Tân Thạnh"}


@pytest.mark.parametrize("text", ["tp Hồ Chí Minh", "TP.HCM", "Sài Gòn", "thanh pho ho chi minh"])
def test_city_names_and_abbreviations(session: Session, text: str) -> None:
    assert resolve_place(session, text).province == "Thành phố Hồ Chí Minh"


@pytest.mark.parametrize(
    ("text", "province"),
    [
        ("HN", "Thành phố Hà Nội"),
        ("Cantho", "Thành phố Cần Thơ"),
        ("BR-VT", "Thành phố Hồ Chí Minh"),
    ],
)
def test_common_abbreviations_name_their_own_province(
    session: Session, text: str, province: str
) -> None:
    assert resolve_place(session, text).province == province


def test_a_former_province_alone_gives_the_new_province(session: Session) -> None:
    place = resolve_place(session, "Tiền Giang")
    assert (place.province, place.commune) == ("Tỉnh Đồng Tháp", None)
    assert "Tỉnh Tiền Giang (cũ)" in place.why


def test_numbered_wards_and_districts(session: Session) -> None:
    place = resolve_place(session, "p7 q5 tphcm")
    assert place.province == "Thành phố Hồ Chí Minh"
    assert place.commune is not None


@pytest.mark.parametrize("text", ["asdfgh", "12345", "!!!", "'; DROP TABLE commune; --"])
def test_text_naming_no_place_is_unknown_and_harmless(session: Session, text: str) -> None:
    place = resolve_place(session, text)
    assert not place.is_known
    assert place.why.endswith("Không nhận ra địa danh nào trong địa chỉ đã nhập.")
    assert session.scalar(select(func.count()).select_from(Commune)) == 3321


def test_a_ten_thousand_character_place_gets_a_clear_message(session: Session) -> None:
    with pytest.raises(PlaceTextError, match="Địa chỉ quá dài \\(10000 ký tự\\)"):
        resolve_place(session, "Đồng Tháp " * 1000)


@pytest.mark.parametrize("text", ["", "   ", None])
def test_an_empty_place_gets_a_clear_message(session: Session, text: str | None) -> None:
    with pytest.raises(PlaceTextError, match="Chưa có địa chỉ"):
        resolve_place(session, text)


def test_control_characters_are_refused(session: Session) -> None:
    with pytest.raises(PlaceTextError, match="ký tự điều khiển"):
        resolve_place(session, "Đồng\x00Tháp")
