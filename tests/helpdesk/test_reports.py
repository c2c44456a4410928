"""The supervisor's figures on a small hand-built month, with the numbers worked out by hand.

The window is three local days, 22-24 November 2026 (Asia/Ho_Chi_Minh, UTC+7), and the
report is read at 10:00 local on the 24th. Tickets (person: topic, priority, what happened):

    #1  A  child_protection   high    22/11 09:00  claimed +10 min, counselled   Đồng Tháp
    #2  A  school_counseling  normal  23/11 08:00  claimed +5 h, referred        Đồng Tháp
    #3  B  domestic_violence  urgent  23/11 20:00  claimed +1 min, emergency      An Giang
    #6  E  emotional_support  normal  22/11 10:00  claimed +1 h, no contact      —
    #8  G  disaster_relief    normal  23/11 12:00  claimed +30 min, transferred +6 h,
                                                   information given, then deleted on request
    #9  B  family_conflict    normal  24/11 08:00  claimed +10 min, counselled   An Giang
    #10 H  child_protection   high    23/11 15:00  closed unclaimed +5 min (duplicate)
    #11 I  child_protection   high    24/11 05:00  claimed +40 min, referred     —
    #4  C  legal_aid          normal  24/11 06:30  still open (3 h 30 waiting)
    #5  D  self_harm          urgent  24/11 09:50  still open (10 min waiting)
    #12 J  family_conflict    normal  24/11 09:00  claimed +10 min, still assigned (elevated)
    #7  F  legal_aid          normal  21/11 23:00  before the window: counted nowhere
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from helpdesk.conversations import get_or_create_conversation
from helpdesk.models import StaffMember, Ticket
from helpdesk.privacy import anonymize_ticket, delete_person_data
from helpdesk.reports import (
    DayCount,
    ProvincePeople,
    QueueGroup,
    TargetFigures,
    TopicPeople,
    supervisor_report,
)
from helpdesk.staff import add_staff
from helpdesk.tickets import (
    claim_ticket,
    close_ticket,
    open_ticket,
    resolve_ticket,
    transfer_ticket,
)

from .conftest import PASSWORD

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SALT = "report-test-salt"
DONG_THAP, AN_GIANG = "Tỉnh Đồng Tháp", "Tỉnh An Giang"


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=LOCAL).astimezone(dt.UTC)


NOW = local(24, 10)
MINUTE = dt.timedelta(minutes=1)


def _ticket(
    session: Session,
    sender: str,
    topic: str,
    opened: dt.datetime,
    *,
    staff: StaffMember,
    risk: str = "none",
    province: str | None = None,
    claimed_after: dt.timedelta | None = None,
    outcome: str | None = None,
    channel: str = "web",
) -> Ticket:
    conversation = get_or_create_conversation(session, channel, sender, now=opened)
    ticket = open_ticket(
        session, conversation, topic=topic, risk=risk, province=province, now=opened
    )
    if claimed_after is not None:
        claim_ticket(session, ticket, staff, now=opened + claimed_after)
        if outcome is not None:
            resolved = opened + claimed_after + MINUTE
            resolve_ticket(session, ticket, outcome, actor=staff.username, now=resolved)
    return ticket


@pytest.fixture
def month(db_session: Session) -> None:
    """The tickets of the module docstring."""
    lan = add_staff(db_session, "lan", "staff", PASSWORD)
    minh = add_staff(db_session, "minh", "staff", PASSWORD)
    h = dt.timedelta(hours=1)
    s = db_session
    _ticket(s, "a", "child_protection", local(22, 9), staff=lan, province=DONG_THAP,
            claimed_after=10 * MINUTE, outcome="counselled")  # fmt: skip
    _ticket(s, "a", "school_counseling", local(23, 8), staff=lan, province=DONG_THAP,
            claimed_after=5 * h, outcome="referred")  # fmt: skip
    _ticket(s, "b", "domestic_violence", local(23, 20), staff=lan, risk="high",
            province=AN_GIANG, claimed_after=MINUTE, outcome="emergency_response",
            channel="zalo")  # fmt: skip
    _ticket(s, "e", "emotional_support", local(22, 10), staff=lan, claimed_after=h,
            outcome="no_contact")  # fmt: skip
    g = _ticket(s, "g", "disaster_relief", local(23, 12), staff=lan, province=DONG_THAP,
                claimed_after=30 * MINUTE, channel="zalo")  # fmt: skip
    transfer_ticket(s, g, minh, actor="lan", now=local(23, 18, 30))
    resolve_ticket(s, g, "information_given", actor="minh", now=local(23, 18, 31))
    delete_person_data(s, "zalo", "g", salt=SALT, now=local(24, 1))
    _ticket(s, "b", "family_conflict", local(24, 8), staff=lan, province=AN_GIANG,
            claimed_after=10 * MINUTE, outcome="counselled", channel="zalo")  # fmt: skip
    h_ticket = _ticket(s, "h", "child_protection", local(23, 15), staff=lan)
    close_ticket(s, h_ticket, actor="lan", outcome="duplicate", now=local(23, 15, 5))
    _ticket(s, "i", "child_protection", local(24, 5), staff=lan, claimed_after=40 * MINUTE,
            outcome="referred")  # fmt: skip
    _ticket(s, "c", "legal_aid", local(24, 6, 30), staff=lan)
    _ticket(s, "d", "self_harm", local(24, 9, 50), staff=lan, risk="high")
    _ticket(s, "j", "family_conflict", local(24, 9), staff=lan, risk="elevated",
            claimed_after=10 * MINUTE)  # fmt: skip
    _ticket(s, "f", "legal_aid", local(21, 23), staff=lan, claimed_after=MINUTE,
            outcome="counselled")  # fmt: skip


def test_the_queue_now(db_session: Session, month: None) -> None:
    queue = supervisor_report(db_session, now=NOW, days=3).queue
    assert (queue.open, queue.assigned) == (2, 1)
    assert (queue.mean_waiting_seconds, queue.max_waiting_seconds) == (6600, 12600)
    assert queue.by_risk == (
        QueueGroup("high", open=1, assigned=0, mean_waiting_seconds=600, max_waiting_seconds=600),
        QueueGroup("elevated", open=0, assigned=1, mean_waiting_seconds=0, max_waiting_seconds=0),
        QueueGroup("none", open=1, assigned=0, mean_waiting_seconds=12600, max_waiting_seconds=12600),
    )  # fmt: skip
    assert [(g.group, g.open, g.assigned) for g in queue.by_topic] == [
        ("family_conflict", 0, 1),
        ("legal_aid", 1, 0),
        ("self_harm", 1, 0),
    ]


def test_tickets_per_local_day(db_session: Session, month: None) -> None:
    report = supervisor_report(db_session, now=NOW, days=3)
    # #4 was opened at 23:30 UTC on the 23rd: the 24th in Vietnam.
    assert report.tickets_per_day == (
        DayCount("2026-11-22", 2),
        DayCount("2026-11-23", 4),
        DayCount("2026-11-24", 5),
    )
    assert (report.first_day, report.last_day, report.days) == ("2026-11-22", "2026-11-24", 3)


def test_every_day_of_the_window_is_listed_even_without_tickets(db_session: Session) -> None:
    report = supervisor_report(db_session, now=NOW, days=30)
    assert len(report.tickets_per_day) == 30
    assert report.tickets_per_day[0] == DayCount("2026-10-26", 0)
    assert report.tickets_per_day[-1] == DayCount("2026-11-24", 0)
    assert report.share_counselled is None and report.people_with_tickets == 0


def test_handled_within_target_by_priority(db_session: Session, month: None) -> None:
    figures = supervisor_report(db_session, now=NOW, days=3).handled_within_target
    assert figures == (
        # #3 in 1 minute; #5 still open after 10.
        TargetFigures("urgent", target_seconds=120, tickets=2, within_target=1, share=0.5),
        # #1 in 10 minutes, #11 in 40; #10 closed unclaimed before its target is not counted.
        TargetFigures("high", target_seconds=1800, tickets=2, within_target=1, share=0.5),
        # #6, #8 (first taken in 30 minutes, transferred later), #9, #12 in time; #2 late;
        # #4 still within its 4 hours is not counted yet.
        TargetFigures("normal", target_seconds=14400, tickets=5, within_target=4, share=0.8),
    )


def test_targets_can_be_set(db_session: Session, month: None) -> None:
    figures = supervisor_report(
        db_session, now=NOW, days=3, targets={"high": dt.timedelta(hours=1)}
    ).handled_within_target
    assert [(f.priority, f.within_target, f.tickets) for f in figures] == [
        ("urgent", 1, 2),
        ("high", 2, 2),
        ("normal", 4, 5),
    ]
    with pytest.raises(ValueError):
        supervisor_report(db_session, now=NOW, targets={"soon": dt.timedelta(hours=1)})


def test_people_helped_and_the_programme_indicators(db_session: Session, month: None) -> None:
    report = supervisor_report(db_session, now=NOW, days=3)
    # A, B, C, D, E, G, H, I, J wrote in the window; A, B, G, I were helped.
    assert (report.people_with_tickets, report.people_helped) == (9, 4)
    assert report.people_helped_by_topic == (
        TopicPeople("child_protection", 2),
        TopicPeople("disaster_relief", 1),
        TopicPeople("domestic_violence", 1),
        TopicPeople("family_conflict", 1),
        TopicPeople("school_counseling", 1),
    )
    # B twice in An Giang is one person; G counts after anonymization; I's place is unknown.
    assert report.people_helped_by_province == (
        ProvincePeople(DONG_THAP, 2),
        ProvincePeople(AN_GIANG, 1),
        ProvincePeople(None, 1),
    )
    # Counselled or referred: A, B, I of nine people.
    assert (report.people_counselled, report.share_counselled) == (3, 0.3333)
    # Child protection or school counselling resolved as helped: A and I (H was a duplicate).
    assert report.children_supported == 2


def test_the_report_is_plain_json(db_session: Session, month: None) -> None:
    report = supervisor_report(db_session, now=NOW, days=3)
    document = json.loads(json.dumps(dataclasses.asdict(report), ensure_ascii=False))
    assert document["generated_at"] == "2026-11-24T03:00:00+00:00"
    assert document["timezone"] == "Asia/Ho_Chi_Minh"
    assert document["tickets_per_day"][0] == {"date": "2026-11-22", "tickets": 2}
    assert document["people_helped_by_province"][-1] == {"province": None, "people": 1}
    everything = json.dumps(document, ensure_ascii=False)
    for sender in ('"a"', '"zalo"', "anon:"):
        assert sender not in everything


def test_with_the_salt_an_anonymized_ticket_matches_its_persons_newer_one(
    db_session: Session,
) -> None:
    lan = add_staff(db_session, "lan", "staff", PASSWORD)
    old = _ticket(db_session, "k", "legal_aid", local(22, 9), staff=lan,
                  claimed_after=MINUTE, outcome="counselled")  # fmt: skip
    anonymize_ticket(db_session, old, salt=SALT, actor="system", now=local(22, 12))
    _ticket(db_session, "k", "legal_aid", local(23, 9), staff=lan, claimed_after=MINUTE,
            outcome="counselled")  # fmt: skip
    assert supervisor_report(db_session, now=NOW, days=3).people_helped == 2
    assert supervisor_report(db_session, now=NOW, days=3, salt=SALT).people_helped == 1


def test_a_report_covers_at_least_a_day(db_session: Session) -> None:
    with pytest.raises(ValueError):
        supervisor_report(db_session, days=0)
