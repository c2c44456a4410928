"""Searching the directory by topic, place and age, as the actions will."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from knowledge.errors import DirectoryError, PlaceTextError, UnknownTopicError
from knowledge.models import Attribute, Organization, Schedule, Service, ServiceArea
from knowledge.search import is_open, search_directory, search_services

MONDAY_10AM = dt.datetime(2025, 11, 24, 10, 0)
SUNDAY_11PM = dt.datetime(2025, 11, 30, 23, 0)


def _numbers(matches) -> list[str]:  # type: ignore[no-untyped-def]
    return [phone.number for match in matches for phone in match.phones]


def _add_service(
    session: Session,
    service_id: str,
    *,
    term: str = "tham-van-tam-ly",
    province_code: str | None = None,
    schedules: tuple[Schedule, ...] = (),
    **fields: object,
) -> Service:
    session.add(
        Organization(
            id=f"org-{service_id}",
            name=f"Tổ chức {service_id}",
            source="test",
            verification="verified",
        )
    )
    service = Service(
        id=service_id,
        organization_id=f"org-{service_id}",
        name=fields.pop("name", f"Dịch vụ {service_id}"),
        status=fields.pop("status", "active"),
        source="test",
        verification="verified",
        **fields,
    )
    service.attributes = [Attribute(id=f"{service_id}:{term}", taxonomy_term_id=term)]
    scope = "province" if province_code else "national"
    service.areas = [ServiceArea(id=f"{service_id}:area", scope=scope, province_code=province_code)]
    service.schedules = list(schedules)
    session.add(service)
    session.flush()
    return service


def _dong_thap(session: Session) -> str:
    from knowledge.models import Province

    return session.scalar(select(Province.code).where(Province.name == "Tỉnh Đồng Tháp"))


def test_a_dong_thap_service_ranks_above_111_and_111_still_comes_back(session: Session) -> None:
    matches = search_services(session, "child_protection", "Đồng Tháp", now=MONDAY_10AM)
    assert matches[0].province == "Tỉnh Đồng Tháp"
    assert "Phục vụ toàn Tỉnh Đồng Tháp" in matches[0].reason
    names = [match.name for match in matches]
    line_111 = names.index("Tổng đài quốc gia bảo vệ trẻ em 111")
    assert all(match.province == "Tỉnh Đồng Tháp" for match in matches[:line_111])
    assert matches[line_111].open_now is True
    assert "mở 24/7" in matches[line_111].reason


def test_the_persons_commune_comes_first_then_province_then_country(session: Session) -> None:
    result = search_directory(session, "child_protection", "xa My Hiep, huyen Cao Lanh, Dong Thap")
    assert (result.location.province, result.location.commune) == ("Tỉnh Đồng Tháp", "Xã Mỹ Hiệp")
    tiers = [match.tier for match in result.services]
    assert tiers == sorted(tiers)
    first = result.services[0]
    assert first.commune == "Xã Mỹ Hiệp"
    assert first.reason.startswith("Phục vụ ngay tại Xã Mỹ Hiệp, Tỉnh Đồng Tháp")
    assert "111" in _numbers(result.services)
    # Another commune's office is not offered to this person.
    offices = [match.name for match in result.services if "UBND" in match.name]
    assert offices == ["Tiếp nhận yêu cầu trợ giúp xã hội tại UBND xã Mỹ Hiệp"]


def test_opening_hours_are_given_in_words(session: Session) -> None:
    matches = {m.name: m for m in search_services(session, "legal_aid", now=MONDAY_10AM)}
    assert matches["Đường dây nóng trợ giúp pháp lý"].hours == "Thứ Hai–Thứ Sáu 08:00–17:00"
    line_111 = search_services(session, "child_protection", now=MONDAY_10AM)[0]
    assert line_111.hours == "24/7"


def test_the_most_specific_national_line_comes_first(session: Session) -> None:
    matches = search_services(session, "child_protection", now=MONDAY_10AM)
    assert _numbers(matches)[0] == "111"
    assert "113" in _numbers(matches)


@pytest.mark.parametrize("place", [None, "asdfgh", "Thành phố Hà Nội"])
def test_national_lines_come_back_when_the_place_is_unknown_or_has_nothing(
    session: Session, place: str | None
) -> None:
    matches = search_services(session, "legal_aid", place, now=MONDAY_10AM)
    assert "1800 1233" in _numbers(matches)
    assert all(match.tier == 3 for match in matches)


def test_each_match_says_why_and_whether_it_is_verified(session: Session) -> None:
    matches = search_services(session, "domestic_violence", "Đồng Tháp", now=MONDAY_10AM)
    hospital = next(match for match in matches if "Bệnh viện Đa khoa Đồng Tháp" in match.name)
    assert hospital.verified is False
    assert hospital.reason.endswith("thông tin chưa được xác minh.")
    assert hospital.address.startswith("39 Nguyễn Văn Tre, ")
    assert hospital.address.endswith(", Tỉnh Đồng Tháp")
    assert [phone.verified for phone in hospital.phones] == [False]
    peace_house = next(
        match for match in matches if match.name == "Đường dây nóng Ngôi nhà Bình yên"
    )
    assert peace_house.verified is True
    assert "có hỗ trợ về bạo lực gia đình" in peace_house.reason


def test_open_services_come_before_closed_ones_of_the_same_reach(session: Session) -> None:
    code = _dong_thap(session)
    office_hours = Schedule(
        id="t-open:s",
        freq="WEEKLY",
        byday="MO,TU,WE,TH,FR",
        opens_at=dt.time(7, 0),
        closes_at=dt.time(17, 0),
        open_24_7=False,
    )
    evenings = Schedule(
        id="t-closed:s",
        freq="WEEKLY",
        byday="MO,TU,WE,TH,FR",
        opens_at=dt.time(18, 0),
        closes_at=dt.time(21, 0),
        open_24_7=False,
    )
    _add_service(session, "t-closed", name="A đóng cửa", province_code=code, schedules=(evenings,))
    _add_service(session, "t-open", name="B đang mở", province_code=code, schedules=(office_hours,))
    names = [
        m.name for m in search_services(session, "emotional_support", "Đồng Tháp", now=MONDAY_10AM)
    ]
    assert names.index("B đang mở") < names.index("A đóng cửa")
    opened = search_services(session, "emotional_support", "Đồng Tháp", now=MONDAY_10AM)
    assert next(m for m in opened if m.name == "B đang mở").reason.endswith(
        "đang trong giờ làm việc."
    )


def test_age_limits_leave_out_services_that_do_not_take_the_person(session: Session) -> None:
    _add_service(
        session, "t-adults", name="Chỉ người lớn", province_code=_dong_thap(session), minimum_age=18
    )
    names_at_14 = [
        m.name for m in search_services(session, "emotional_support", "Đồng Tháp", age=14)
    ]
    names_at_30 = [
        m.name for m in search_services(session, "emotional_support", "Đồng Tháp", age=30)
    ]
    assert "Chỉ người lớn" not in names_at_14
    assert "Chỉ người lớn" in names_at_30


def test_inactive_services_are_not_offered(session: Session) -> None:
    session.execute(update(Service).where(Service.id == "svc-111").values(status="inactive"))
    session.flush()
    assert "111" not in _numbers(search_services(session, "child_protection"))


def test_a_short_list_still_keeps_room_for_national_lines(session: Session) -> None:
    matches = search_services(session, "child_protection", "Đồng Tháp", limit=3, now=MONDAY_10AM)
    assert len(matches) == 3
    assert matches[0].tier == 2
    assert "111" in _numbers(matches)


def test_an_unknown_topic_gets_the_list_of_topics(session: Session) -> None:
    with pytest.raises(
        UnknownTopicError, match="Chủ đề 'weather' không có trong danh mục"
    ) as error:
        search_services(session, "weather", "Đồng Tháp")
    assert "child_protection" in str(error.value)


def test_sql_in_the_place_text_is_harmless(session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(Service))
    result = search_directory(session, "child_protection", "'; DROP TABLE service; --")
    assert not result.location.is_known
    assert "111" in _numbers(result.services)
    assert session.scalar(select(func.count()).select_from(Service)) == before


def test_a_ten_thousand_character_place_gets_a_clear_message(session: Session) -> None:
    with pytest.raises(PlaceTextError, match="quá dài"):
        search_services(session, "child_protection", "x" * 10_000)


@pytest.mark.parametrize("age", [-1, 121, 1.5, True])
def test_an_absurd_age_gets_a_clear_message(session: Session, age: object) -> None:
    with pytest.raises(DirectoryError, match="Tuổi phải là một số nguyên từ 0 đến 120"):
        search_services(session, "child_protection", age=age)  # type: ignore[arg-type]


def _slot(byday: str, opens: str, closes: str, **extra: object) -> SimpleNamespace:
    values = {"open_24_7": False, "valid_from": None, "valid_to": None}
    values.update(extra)
    return SimpleNamespace(
        byday=byday,
        opens_at=dt.time.fromisoformat(opens),
        closes_at=dt.time.fromisoformat(closes),
        **values,
    )


def test_opening_hours_across_midnight_and_validity_dates() -> None:
    night = [_slot("SU", "22:00", "06:00")]
    assert is_open(night, SUNDAY_11PM.replace(tzinfo=dt.timezone(dt.timedelta(hours=7)))) is True
    assert (
        is_open(night, dt.datetime(2025, 12, 1, 5, 0)) is True
    )  # Monday 05:00, still Sunday's night
    assert is_open(night, dt.datetime(2025, 12, 1, 7, 0)) is False
    expired = [_slot("MO", "07:00", "17:00", valid_to=dt.date(2025, 1, 1))]
    assert is_open(expired, MONDAY_10AM) is None
    assert is_open([], MONDAY_10AM) is None
