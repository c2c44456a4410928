"""Two staff members claiming one ticket at the same moment: exactly one gets it.

These tests need real concurrency, so they use sessions of their own on the test
database and commit; each removes exactly the rows it made when it ends.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, delete, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk.conversations import get_or_create_conversation
from helpdesk.errors import TicketAlreadyClaimedError
from helpdesk.models import AuditEvent, Conversation, StaffMember, Ticket
from helpdesk.staff import add_staff
from helpdesk.tickets import claim_ticket, open_urgent_ticket, request_handoff
from hotline.db import make_session_factory

from .conftest import PASSWORD


@dataclass
class Race:
    """A committed urgent ticket waiting in the queue, and the staff who want it."""

    factory: sessionmaker[Session]
    ticket_id: str
    conversation_id: str
    usernames: list[str]


@pytest.fixture
def race(db_engine: Engine) -> Iterator[Race]:
    factory = make_session_factory(db_engine)
    tag = uuid.uuid4().hex[:8]
    usernames = [f"race-{n}-{tag}" for n in range(5)]
    with factory.begin() as session:
        for username in usernames:
            add_staff(session, username, "staff", PASSWORD)
        conversation = get_or_create_conversation(session, "web", f"race-{tag}")
        ticket, _ = open_urgent_ticket(session, conversation, topic="self_harm")
        request_handoff(session, conversation, ticket)
        made = Race(factory, ticket.id, conversation.id, usernames)
    yield made
    with factory.begin() as session:
        session.execute(
            delete(AuditEvent).where(
                or_(
                    AuditEvent.ticket_id == made.ticket_id,
                    AuditEvent.conversation_id == made.conversation_id,
                    AuditEvent.details["staff"].as_string().in_(usernames),
                )
            )
        )
        session.execute(delete(Ticket).where(Ticket.id == made.ticket_id))
        session.execute(delete(Conversation).where(Conversation.id == made.conversation_id))
        session.execute(delete(StaffMember).where(StaffMember.username.in_(usernames)))


def _claim(race: Race, username: str) -> str:
    """Claim in a transaction of its own; 'won' or 'lost'."""
    with race.factory.begin() as session:
        ticket = session.get(Ticket, race.ticket_id)
        staff = session.scalar(select(StaffMember).where(StaffMember.username == username))
        assert ticket is not None and staff is not None
        try:
            claim_ticket(session, ticket, staff)
        except TicketAlreadyClaimedError:
            return "lost"
        return "won"


def _final(race: Race) -> tuple[str, str | None, str]:
    with race.factory() as session:
        ticket = session.get(Ticket, race.ticket_id)
        conversation = session.get(Conversation, race.conversation_id)
        assert ticket is not None and conversation is not None
        return ticket.status, ticket.assignee, conversation.handoff_state


def test_a_claim_on_a_stale_queue_page_loses_to_the_first(race: Race) -> None:
    # Both staff loaded the queue while the ticket was open; the first claim commits.
    with race.factory() as slow:
        stale_ticket = slow.get(Ticket, race.ticket_id)
        slow_staff = slow.scalar(
            select(StaffMember).where(StaffMember.username == race.usernames[1])
        )
        slow.commit()
        assert stale_ticket is not None and stale_ticket.status == "open"
        assert slow_staff is not None

        assert _claim(race, race.usernames[0]) == "won"

        with pytest.raises(TicketAlreadyClaimedError) as caught:
            claim_ticket(slow, stale_ticket, slow_staff)
        slow.rollback()
    assert caught.value.assignee == race.usernames[0]
    assert _final(race) == ("assigned", race.usernames[0], "assigned")


@pytest.mark.postgres
def test_a_claim_waits_for_the_one_in_progress_and_then_loses(race: Race) -> None:
    if race.factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serializes whole transactions")
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            outcome["second"] = _claim(race, race.usernames[1])
        except Exception as error:  # reported below, not swallowed
            outcome["second"] = error

    with race.factory() as first:
        ticket = first.get(Ticket, race.ticket_id)
        staff = first.scalar(select(StaffMember).where(StaffMember.username == race.usernames[0]))
        assert ticket is not None and staff is not None
        claim_ticket(first, ticket, staff)  # holds the row lock until commit
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the second claim must wait for the first, not pass it"
        first.commit()
    thread.join(10)
    assert outcome["second"] == "lost"
    assert _final(race) == ("assigned", race.usernames[0], "assigned")


def test_five_staff_claiming_at_once_one_wins(race: Race) -> None:
    start = threading.Barrier(len(race.usernames))
    results: dict[str, object] = {}

    def claim(username: str) -> None:
        start.wait()
        try:
            results[username] = _claim(race, username)
        except OperationalError as error:
            results[username] = error

    threads = [threading.Thread(target=claim, args=(name,)) for name in race.usernames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    winners = [name for name, result in results.items() if result == "won"]
    assert len(results) == len(race.usernames) and len(winners) == 1
    losers = [result for result in results.values() if result != "won"]
    if race.factory.kw["bind"].dialect.name == "postgresql":
        assert losers == ["lost"] * 4
    else:
        # SQLite refuses a writer whose snapshot went stale ("database is locked") instead
        # of re-reading; the loser's transaction fails whole, so nothing of it is written.
        assert all(result == "lost" or "database is locked" in str(result) for result in losers)
    assert _final(race) == ("assigned", winners[0], "assigned")
