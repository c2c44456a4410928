"""Finding services for a person's topic, place and age.

Ranking, in order: how specifically a service serves the person's place (their commune,
then their province, then the whole country), then services open now, then services whose
matching taxonomy term is specific to the topic (111 before 113 for child protection), then
verified records, then name. Only active services, and only those whose age range admits the
person, come back. National lines for the topic always come back, even when the place is
unknown or has nothing: a few places are kept for them when local services fill the list.
Each match says in one Vietnamese sentence why it was chosen.

Usage:
    result = search_directory(session, "child_protection", "xã Mỹ Hiệp, Đồng Tháp", age=14)
    result.location.commune, [match.name for match in result.services]
    search_services(session, "legal_aid")      # just the matches
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import literal, or_, select, union_all
from sqlalchemy.orm import Session

from knowledge.errors import DirectoryError
from knowledge.models import (
    Address,
    Attribute,
    Commune,
    Location,
    Organization,
    Phone,
    Province,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTermTopic,
)
from knowledge.places import PlaceResolution, resolve_place
from knowledge.taxonomy import check_topic, topic_label

VIETNAM_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
NATIONAL_PLACES = 3
MAX_AGE = 120

TIER_COMMUNE, TIER_PROVINCE, TIER_NATIONAL = 1, 2, 3


@dataclass(frozen=True)
class PhoneInfo:
    """A number to call, with what kind of line it is and whether it was confirmed."""

    number: str
    type: str
    description: str | None
    verified: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain form for JSON answers."""
        return {
            "number": self.number,
            "type": self.type,
            "description": self.description,
            "verified": self.verified,
        }


@dataclass(frozen=True)
class ServiceMatch:
    """One service found for a search, ready to be shown to a person."""

    service_id: str
    name: str
    organization: str
    phones: tuple[PhoneInfo, ...]
    address: str | None
    province: str | None
    commune: str | None
    topics: tuple[str, ...]
    open_now: bool | None
    reason: str
    verified: bool
    tier: int
    url: str | None = None
    hours: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The shape printed by `hotline directory search --json`."""
        return {
            "name": self.name,
            "organization": self.organization,
            "phones": [phone.to_dict() for phone in self.phones],
            "address": self.address,
            "province": self.province,
            "commune": self.commune,
            "topics": list(self.topics),
            "open_now": self.open_now,
            "reason": self.reason,
            "verified": self.verified,
        }


@dataclass(frozen=True)
class SearchResult:
    """The resolved place (None when no place was given) and the ranked matches."""

    location: PlaceResolution | None
    services: list[ServiceMatch]


@dataclass
class _Details:
    """What a reply shows of one service, read with a few plain queries."""

    name: str = ""
    organization: str = ""
    verified: bool = False
    url: str | None = None
    has_age_limits: bool = False
    phones: list[PhoneInfo] = field(default_factory=list)
    address: str | None = None
    province: str | None = None
    commune: str | None = None
    located: bool = False
    topics: set[str] = field(default_factory=set)


@dataclass
class _Candidate:
    service_id: str
    tier: int
    details: _Details
    open_now: bool | None = None
    # How many topics the best matching term serves: 111 (child protection only) before 113.
    breadth: int = 99
    round_the_clock: bool = False
    hours: str | None = None


def local_time(now: dt.datetime | None = None) -> dt.datetime:
    """`now` in Vietnam's time (UTC+7, no daylight saving); naive values are taken as local."""
    if now is None:
        return dt.datetime.now(VIETNAM_TIME)
    if now.tzinfo is None:
        return now.replace(tzinfo=VIETNAM_TIME)
    return now.astimezone(VIETNAM_TIME)


def is_open(schedules: list[Any], now: dt.datetime) -> bool | None:
    """True/False from weekly hours at local time `now`; None when no hours are known."""
    today = now.date()
    moment = now.time().replace(tzinfo=None)
    day, previous_day = WEEKDAYS[now.weekday()], WEEKDAYS[(now.weekday() - 1) % 7]
    known = False
    for schedule in schedules:
        if (schedule.valid_from and today < schedule.valid_from) or (
            schedule.valid_to and today > schedule.valid_to
        ):
            continue
        known = True
        if schedule.open_24_7:
            return True
        days = set((schedule.byday or "").split(","))
        opens, closes = schedule.opens_at, schedule.closes_at
        if opens is None or closes is None:
            continue
        if opens <= closes:
            if day in days and opens <= moment < closes:
                return True
        # Hours past midnight (22:00-06:00) belong to the day they start on.
        elif (day in days and moment >= opens) or (previous_day in days and moment < closes):
            return True
    return False if known else None


DAY_NAMES = {
    "MO": "Thứ Hai",
    "TU": "Thứ Ba",
    "WE": "Thứ Tư",
    "TH": "Thứ Năm",
    "FR": "Thứ Sáu",
    "SA": "Thứ Bảy",
    "SU": "Chủ nhật",
}


def describe_hours(schedules: list[Any]) -> str | None:
    """Opening hours in words: "24/7", or "Thứ Hai–Thứ Sáu 07:30–17:00"; None when unknown."""
    if any(schedule.open_24_7 for schedule in schedules):
        return "24/7"
    parts = []
    for schedule in schedules:
        if schedule.opens_at is None or schedule.closes_at is None or not schedule.byday:
            continue
        days = sorted({WEEKDAYS.index(day) for day in schedule.byday.split(",") if day in WEEKDAYS})
        runs: list[list[int]] = []
        for day in days:
            if runs and day == runs[-1][-1] + 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        spans = [
            DAY_NAMES[WEEKDAYS[run[0]]]
            if len(run) == 1
            else f"{DAY_NAMES[WEEKDAYS[run[0]]]}–{DAY_NAMES[WEEKDAYS[run[-1]]]}"
            for run in runs
        ]
        hours = f"{schedule.opens_at:%H:%M}–{schedule.closes_at:%H:%M}"
        parts.append(f"{', '.join(spans)} {hours}")
    return "; ".join(parts) or None


def _check_age(age: int | None) -> int | None:
    if age is None:
        return None
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= MAX_AGE:
        raise DirectoryError(f"Tuổi phải là một số nguyên từ 0 đến {MAX_AGE}.")
    return age


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise DirectoryError(f"Số kết quả phải từ 1 đến {MAX_LIMIT}.")
    return limit


def _candidates(
    session: Session,
    topic: str,
    place: PlaceResolution | None,
    age: int | None,
    now: dt.datetime,
) -> list[_Candidate]:
    """Every active service of the topic serving the place, with its tier and opening state."""
    tiers, topics = _reach(session, topic, place)
    if not topics:
        return []
    candidates = _with_details(session, {sid: tiers[sid] for sid in topics}, age)
    kept = list(candidates)
    for service_id in kept:
        service_topics, breadth = topics[service_id]
        candidates[service_id].details.topics = service_topics
        candidates[service_id].breadth = breadth
    for start in range(0, len(kept), 500):
        _add_hours(session, candidates, kept[start : start + 500], now)
    return list(candidates.values())


def _reach(
    session: Session, topic: str, place: PlaceResolution | None
) -> tuple[dict[str, int], dict[str, tuple[set[str], int]]]:
    """Services whose area covers the place and that are tagged for `topic`.

    Returns their best tier, and for each its topics and the breadth of its most specific
    term for `topic` (how many topics that term serves). One indexed lookup per reach is
    unioned, rather than an OR that makes databases scan every area; the topic is checked
    in Python on these few rows, since a semi-join lets PostgreSQL hash all attributes.
    """
    reach = [
        select(ServiceArea.service_id, literal(TIER_NATIONAL).label("tier")).where(
            ServiceArea.scope == "national"
        )
    ]
    if place is not None and place.province_code is not None:
        reach.append(
            select(ServiceArea.service_id, literal(TIER_PROVINCE).label("tier")).where(
                ServiceArea.scope == "province", ServiceArea.province_code == place.province_code
            )
        )
    if place is not None and place.commune_id is not None:
        reach.append(
            select(ServiceArea.service_id, literal(TIER_COMMUNE).label("tier")).where(
                ServiceArea.commune_id == place.commune_id
            )
        )
    areas = union_all(*reach).subquery("reach")
    statement = (
        select(
            areas.c.service_id, areas.c.tier, Attribute.taxonomy_term_id, TaxonomyTermTopic.topic
        )
        .join(Attribute, Attribute.service_id == areas.c.service_id)
        .join(TaxonomyTermTopic, TaxonomyTermTopic.taxonomy_term_id == Attribute.taxonomy_term_id)
    )
    tiers: dict[str, int] = {}
    terms: dict[tuple[str, str], set[str]] = defaultdict(set)
    for service_id, tier, term_id, term_topic in session.execute(statement):
        tiers[service_id] = min(int(tier), tiers.get(service_id, TIER_NATIONAL))
        terms[(service_id, term_id)].add(term_topic)
    topics: dict[str, set[str]] = defaultdict(set)
    breadth: dict[str, int] = {}
    for (service_id, _term), term_topics in terms.items():
        topics[service_id].update(term_topics)
        if topic in term_topics:
            breadth[service_id] = min(breadth.get(service_id, 99), len(term_topics))
    return tiers, {service_id: (topics[service_id], width) for service_id, width in breadth.items()}


def _with_details(
    session: Session, tiers: dict[str, int], age: int | None
) -> dict[str, _Candidate]:
    """The active services among `tiers` that admit `age`, with names and where they serve."""
    candidates: dict[str, _Candidate] = {}
    ids = list(tiers)
    for start in range(0, len(ids), 500):
        statement = (
            select(
                Service.id,
                Service.name,
                Service.verification,
                Service.url,
                Service.minimum_age,
                Service.maximum_age,
                Organization.name,
                Province.name,
                Commune.name,
            )
            .join(Organization, Organization.id == Service.organization_id)
            .outerjoin(ServiceArea, ServiceArea.service_id == Service.id)
            .outerjoin(Province, Province.code == ServiceArea.province_code)
            .outerjoin(Commune, Commune.id == ServiceArea.commune_id)
            .where(Service.id.in_(ids[start : start + 500]), Service.status == "active")
            .order_by(Service.id, ServiceArea.id)
        )
        if age is not None:
            statement = statement.where(
                or_(Service.minimum_age.is_(None), Service.minimum_age <= age),
                or_(Service.maximum_age.is_(None), Service.maximum_age >= age),
            )
        for row in session.execute(statement):
            service_id, name, verification, url, low, high, organization, province, commune = row
            candidate = candidates.get(service_id)
            if candidate is None:
                details = _Details(
                    name=name,
                    organization=organization,
                    verified=verification == "verified",
                    url=url,
                    has_age_limits=low is not None or high is not None,
                    province=province,
                    commune=commune,
                )
                candidates[service_id] = _Candidate(service_id, tiers[service_id], details)
    return candidates


def _add_hours(
    session: Session, candidates: dict[str, _Candidate], chunk: list[str], now: dt.datetime
) -> None:
    schedules: dict[str, list[Any]] = defaultdict(list)
    for schedule in session.execute(
        select(
            Schedule.service_id,
            Schedule.byday,
            Schedule.opens_at,
            Schedule.closes_at,
            Schedule.open_24_7,
            Schedule.valid_from,
            Schedule.valid_to,
        ).where(Schedule.service_id.in_(chunk))
    ):
        schedules[schedule.service_id].append(schedule)
    for service_id in chunk:
        candidate = candidates[service_id]
        candidate.open_now = is_open(schedules[service_id], now)
        candidate.round_the_clock = any(item.open_24_7 for item in schedules[service_id])
        candidate.hours = describe_hours(schedules[service_id])


def _rank_key(candidate: _Candidate) -> tuple[int, int, int, int, str]:
    opening = {True: 0, None: 1, False: 2}[candidate.open_now]
    return (
        candidate.tier,
        opening,
        candidate.breadth,
        0 if candidate.details.verified else 1,
        candidate.details.name,
    )


def _choose(candidates: list[_Candidate], limit: int) -> list[_Candidate]:
    """The best `limit`, keeping a few places for national lines when local ones abound."""
    ranked = sorted(candidates, key=_rank_key)
    local = [c for c in ranked if c.tier != TIER_NATIONAL]
    national = [c for c in ranked if c.tier == TIER_NATIONAL]
    # About a third of the list, at most three: 111 stays visible next to local services.
    reserved = min(len(national), NATIONAL_PLACES, (limit + 1) // 3)
    local_taken = local[: max(limit - reserved, 0)]
    return local_taken + national[: limit - len(local_taken)]


def search_directory(
    session: Session,
    topic: str,
    place_text: str | None = None,
    age: int | None = None,
    now: dt.datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> SearchResult:
    """Resolve the place, find and rank the services of `topic` there, and explain each."""
    topic = check_topic(topic)
    age = _check_age(age)
    limit = _check_limit(limit)
    place = resolve_place(session, place_text) if place_text is not None else None
    moment = local_time(now)
    chosen = _choose(_candidates(session, topic, place, age, moment), limit)
    return SearchResult(place, _describe(session, topic, place, age, chosen))


def search_services(
    session: Session,
    topic: str,
    place_text: str | None = None,
    age: int | None = None,
    now: dt.datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[ServiceMatch]:
    """The ranked services only; see `search_directory`."""
    return search_directory(session, topic, place_text, age, now, limit).services


def _describe(
    session: Session,
    topic: str,
    place: PlaceResolution | None,
    age: int | None,
    chosen: list[_Candidate],
) -> list[ServiceMatch]:
    if not chosen:
        return []
    by_id = {candidate.service_id: candidate.details for candidate in chosen}
    ids = list(by_id)
    for service_id, number, kind, description, verification in session.execute(
        select(Phone.service_id, Phone.number, Phone.type, Phone.description, Phone.verification)
        .where(Phone.service_id.in_(ids))
        .order_by(Phone.id)
    ):
        if service_id not in by_id:
            continue
        by_id[service_id].phones.append(
            PhoneInfo(number, kind, description, verification == "verified")
        )
    for service_id, street, commune, province in session.execute(
        select(ServiceAtLocation.service_id, Address.address_1, Commune.name, Province.name)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .join(Province, Province.code == Location.province_code)
        .outerjoin(Commune, Commune.id == Location.commune_id)
        .outerjoin(Address, Address.location_id == Location.id)
        .where(ServiceAtLocation.service_id.in_(ids))
        .order_by(ServiceAtLocation.id, Address.id)
    ):
        details = by_id[service_id]
        if not details.located:
            # Where the service is, rather than the area it serves.
            details.located = True
            details.address = ", ".join(part for part in (street, commune, province) if part)
            details.province, details.commune = province, commune
    return [_match(candidate, topic, place, age) for candidate in chosen]


def _match(
    candidate: _Candidate, topic: str, place: PlaceResolution | None, age: int | None
) -> ServiceMatch:
    details = candidate.details
    return ServiceMatch(
        service_id=candidate.service_id,
        name=details.name,
        organization=details.organization,
        phones=tuple(details.phones),
        address=details.address,
        province=details.province,
        commune=details.commune,
        topics=tuple(sorted(details.topics)),
        open_now=candidate.open_now,
        reason=_reason(candidate, topic, place, age),
        verified=details.verified,
        tier=candidate.tier,
        url=details.url,
        hours=candidate.hours,
    )


def _reason(
    candidate: _Candidate,
    topic: str,
    place: PlaceResolution | None,
    age: int | None,
) -> str:
    if candidate.tier == TIER_COMMUNE and place is not None:
        parts = [f"Phục vụ ngay tại {place.commune}, {place.province}"]
    elif candidate.tier == TIER_PROVINCE and place is not None:
        parts = [f"Phục vụ toàn {place.province}"]
    elif place is not None and place.is_known:
        parts = [f"Dịch vụ toàn quốc, gọi được từ {place.province}"]
    else:
        parts = ["Dịch vụ toàn quốc"]
    parts.append(f"có hỗ trợ về {topic_label(topic)}")
    if age is not None and candidate.details.has_age_limits:
        parts.append(f"nhận người {age} tuổi")
    if candidate.open_now is True:
        parts.append("mở 24/7" if candidate.round_the_clock else "đang trong giờ làm việc")
    elif candidate.open_now is False:
        parts.append("hiện ngoài giờ làm việc")
    else:
        parts.append("chưa rõ giờ làm việc")
    if not candidate.details.verified:
        parts.append("thông tin chưa được xác minh")
    return "; ".join(parts) + "."
