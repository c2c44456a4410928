"""The staff JSON API: log in, work the queue, claim, reply, note, transfer, resolve; what
each role may do; CSRF on cookie sessions; the person told when staff join and leave;
escalation of urgent tickets nobody claims. The gateway runs with the fake Rasa; the
handoff is made the way the action server makes it (helpdesk functions, committed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from connectors.staff.auth import CSRF_HEADER, SESSION_COOKIE
from connectors.texts import load_crisis_text, load_texts
from helpdesk.audit import events_of_ticket
from helpdesk.canned import add_canned_reply
from helpdesk.conversations import get_or_create_conversation, record_inbound
from helpdesk.models import AuditEvent, Ticket
from helpdesk.staff import add_staff
from helpdesk.tickets import get_ticket_by_code, open_or_reuse_ticket, request_handoff

TEXTS = load_texts()
CRISIS = load_crisis_text()
PASSWORD = "mật-khẩu-đủ-dài-123"


@pytest.fixture
def make_staff(session_factory, unique_id) -> Callable[..., str]:
    """A new account (its username is returned); names are unique to the test."""

    def make(role: str = "staff", name: str | None = None) -> str:
        username = unique_id(role[:3]).lower()
        with session_factory.begin() as session:
            add_staff(session, username, role, PASSWORD, display_name=name or f"Chị {username}")
        return username

    return make


@pytest.fixture
def handed_off(session_factory, unique_id) -> Callable[..., tuple[str, str]]:
    """A person on the REST API whose conversation waits for staff: (sender, ticket code)."""

    def make(
        topic: str = "domestic_violence", risk: str = "none", text: str = "chồng em đánh em"
    ) -> tuple[str, str]:
        sender = unique_id("person")
        with session_factory.begin() as session:
            conversation = get_or_create_conversation(session, "api", sender)
            record_inbound(session, conversation, text)
            ticket, _ = open_or_reuse_ticket(session, conversation, topic=topic, risk=risk)
            request_handoff(session, conversation, ticket)
            return sender, ticket.code

    return make


def login(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Bearer headers of a fresh session."""
    response = client.post("/api/v1/staff/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def person_sees(client, sender: str) -> list[dict[str, Any]]:
    return client.get("/api/v1/messages", params={"sender_id": sender}).json()["messages"]


def test_login_gives_a_token_and_a_strict_httponly_secure_cookie(gateway_client, make_staff):
    username = make_staff("staff", "Nguyễn Thị Lan")
    with gateway_client() as client:
        response = client.post(
            "/api/v1/staff/login", json={"username": username.upper(), "password": PASSWORD}
        )
    body = response.json()
    assert response.status_code == 200
    assert body["username"] == username and body["role"] == "staff"
    assert body["display_name"] == "Nguyễn Thị Lan" and body["token"] and body["csrf_token"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={body['token']};")
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert attribute.lower() in cookie.lower()


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(gateway_client, make_staff):
    username = make_staff()
    with gateway_client() as client:
        wrong = client.post(
            "/api/v1/staff/login", json={"username": username, "password": "sai-mật-khẩu-rồi"}
        )
        unknown = client.post(
            "/api/v1/staff/login", json={"username": "khong-ai-ca", "password": PASSWORD}
        )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "Tên đăng nhập hoặc mật khẩu không đúng."}


def test_logins_are_blocked_after_five_failures_even_with_the_right_password(
    gateway_client, make_staff
):
    username = make_staff()
    with gateway_client() as client:
        for _ in range(5):
            client.post(
                "/api/v1/staff/login", json={"username": username, "password": "sai-mật-khẩu-rồi"}
            )
        blocked = client.post(
            "/api/v1/staff/login", json={"username": username, "password": PASSWORD}
        )
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "đợi" in blocked.json()["detail"]


def test_every_staff_endpoint_needs_a_login(gateway_client):
    with gateway_client() as client:
        paths = client.get("/openapi.json").json()["paths"]
        calls = [
            (method.upper(), path.replace("{code}", "HT-AAAAAA").replace("{reply_id}", "1"))
            for path, operations in paths.items()
            if path.startswith("/api/v1/staff") and path != "/api/v1/staff/login"
            for method in operations
        ]
        assert len(calls) >= 15
        for method, path in calls:
            response = client.request(method, path, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            # A forged or expired token is no better than none.
            forged = client.request(
                method, path, json={}, headers={"Authorization": "Bearer forged"}
            )
            assert forged.status_code == 401, (method, path)


def test_supervisor_endpoints_refuse_staff_and_accept_supervisors_and_admins(
    gateway_client, make_staff
):
    staff, supervisor, admin = make_staff("staff"), make_staff("supervisor"), make_staff("admin")
    with gateway_client() as client:
        as_staff, as_supervisor, as_admin = (login(client, u) for u in (staff, supervisor, admin))
        calls = [
            ("GET", "/api/v1/staff/report", None),
            ("POST", "/api/v1/staff/canned-replies", {"title": "Thử", "text": "Chào bạn."}),
            ("PATCH", "/api/v1/staff/canned-replies/1", {"title": "Thử lại"}),
        ]
        for method, path, body in calls:
            refused = client.request(method, path, json=body, headers=as_staff)
            assert refused.status_code == 403, (method, path)
            assert refused.json()["detail"] == "Tài khoản của bạn không có quyền làm việc này."
        report = client.get("/api/v1/staff/report", headers=as_supervisor)
        added = client.post(
            "/api/v1/staff/canned-replies",
            json={"title": "Hẹn gọi lại", "text": "Mình sẽ gọi lại cho bạn trong hôm nay."},
            headers=as_admin,
        )
        edited = client.patch(
            f"/api/v1/staff/canned-replies/{added.json()['id']}",
            json={"active": False},
            headers=as_supervisor,
        )
        visible_to_staff = client.get("/api/v1/staff/canned-replies", headers=as_staff).json()
    assert report.status_code == 200
    assert added.status_code == 201 and edited.json()["active"] is False
    assert "Hẹn gọi lại" not in [reply["title"] for reply in visible_to_staff]


def test_the_queue_puts_urgent_first_and_says_what_staff_need(
    gateway_client, make_staff, handed_off
):
    normal_sender, normal = handed_off("social_allowance")
    urgent_sender, urgent = handed_off("self_harm", risk="high", text="em không muốn sống nữa")
    with gateway_client() as client:
        queue = client.get("/api/v1/staff/queue", headers=login(client, make_staff())).json()
    codes = [entry["code"] for entry in queue]
    assert codes.index(urgent) < codes.index(normal)
    entry = next(e for e in queue if e["code"] == urgent)
    assert entry["priority"] == "urgent" and entry["risk"] == "high"
    assert entry["status"] == "open" and entry["channel"] == "api" and entry["topic"] == "self_harm"
    assert entry["waiting_seconds"] >= 0
    assert entry["last_messages"][-1]["from"] == "person"
    assert entry["last_messages"][-1]["text"] == "em không muốn sống nữa"


def test_claim_reply_and_resolve_reach_the_person_and_the_bot_answers_again(
    gateway_client, fake_rasa, make_staff, handed_off
):
    lan = make_staff("staff", "Nguyễn Thị Lan")
    sender, code = handed_off()
    with gateway_client() as client:
        headers = login(client, lan)
        claimed = client.post(f"/api/v1/staff/tickets/{code}/claim", headers=headers)
        sent = client.post(
            f"/api/v1/staff/tickets/{code}/messages",
            json={"text": "Chào em, chị là Lan. Em đang ở đâu?"},
            headers=headers,
        )
        during = client.post(
            "/api/v1/messages", json={"sender_id": sender, "text": "em ở Cao Lãnh"}
        )
        ticket = client.get(f"/api/v1/staff/tickets/{code}", headers=headers).json()
        resolved = client.post(
            f"/api/v1/staff/tickets/{code}/resolve", json={"outcome": "referred"}, headers=headers
        )
        after = client.post("/api/v1/messages", json={"sender_id": sender, "text": "xin chào"})
        seen = [(m["from"], m["text"]) for m in person_sees(client, sender)]
    assert claimed.json() == {"code": code, "status": "assigned", "assignee": lan}
    assert sent.status_code == 201 and sent.json()["from"] == "staff"
    assert during.json()["replies"] == [] and during.json()["handed_off"] is True
    assert [(m["from"], m["text"]) for m in ticket["messages"]][-2:] == [
        ("staff", "Chào em, chị là Lan. Em đang ở đâu?"),
        ("person", "em ở Cao Lãnh"),
    ]
    assert resolved.json()["status"] == "resolved"
    assert after.json()["handed_off"] is False
    assert after.json()["replies"][0]["text"] == "Xin chào, mình là trợ lý tự động."
    assert [call["message"] for call in fake_rasa.calls_to("webhook")] == ["xin chào"]
    assert seen[1:5] == [
        ("system", TEXTS.staff_joined.format(staff_name="Nguyễn Thị Lan")),
        ("staff", "Chào em, chị là Lan. Em đang ở đâu?"),
        ("person", "em ở Cao Lãnh"),
        ("system", TEXTS.returned_to_assistant),
    ]


def test_two_staff_cannot_claim_the_same_ticket(gateway_client, make_staff, handed_off):
    first, second = make_staff(), make_staff()
    _, code = handed_off()
    with gateway_client() as client:
        won = client.post(f"/api/v1/staff/tickets/{code}/claim", headers=login(client, first))
        lost = client.post(f"/api/v1/staff/tickets/{code}/claim", headers=login(client, second))
    assert won.status_code == 200
    assert lost.status_code == 409
    assert lost.json()["detail"] == f"Yêu cầu {code} đã được nhân viên {first} nhận."


def test_only_the_assignee_or_a_supervisor_replies_transfers_and_resolves(
    gateway_client, make_staff, handed_off
):
    owner, colleague, supervisor = make_staff(), make_staff(), make_staff("supervisor")
    _, code = handed_off()
    with gateway_client() as client:
        as_owner, as_colleague = login(client, owner), login(client, colleague)
        before_claim = client.post(
            f"/api/v1/staff/tickets/{code}/messages", json={"text": "Chào bạn"}, headers=as_owner
        )
        client.post(f"/api/v1/staff/tickets/{code}/claim", headers=as_owner)
        refused = [
            client.post(
                f"/api/v1/staff/tickets/{code}/messages",
                json={"text": "Chào"},
                headers=as_colleague,
            ),
            client.post(
                f"/api/v1/staff/tickets/{code}/transfer",
                json={"to": colleague},
                headers=as_colleague,
            ),
            client.post(
                f"/api/v1/staff/tickets/{code}/resolve",
                json={"outcome": "counselled"},
                headers=as_colleague,
            ),
        ]
        covered = client.post(
            f"/api/v1/staff/tickets/{code}/messages",
            json={"text": "Chị giám sát đây, em cần gì cứ nói nhé."},
            headers=login(client, supervisor),
        )
    assert before_claim.status_code == 409
    assert before_claim.json()["detail"] == f"Bạn cần nhận yêu cầu {code} trước khi trả lời."
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert covered.status_code == 201


def test_a_transfer_hands_the_ticket_and_the_person_to_a_colleague(
    gateway_client, make_staff, handed_off
):
    owner, colleague = make_staff(), make_staff("staff", "Trần Văn Minh")
    sender, code = handed_off()
    with gateway_client() as client:
        as_owner = login(client, owner)
        client.post(f"/api/v1/staff/tickets/{code}/claim", headers=as_owner)
        moved = client.post(
            f"/api/v1/staff/tickets/{code}/transfer", json={"to": colleague}, headers=as_owner
        )
        no_more = client.post(
            f"/api/v1/staff/tickets/{code}/messages", json={"text": "Chào"}, headers=as_owner
        )
        to_nobody = client.post(
            f"/api/v1/staff/tickets/{code}/transfer",
            json={"to": "khong-co-ai"},
            headers=login(client, colleague),
        )
        seen = [m["text"] for m in person_sees(client, sender)]
    assert moved.json() == {"code": code, "status": "assigned", "assignee": colleague}
    assert no_more.status_code == 403
    assert to_nobody.status_code == 422
    assert seen[-1] == TEXTS.staff_joined.format(staff_name="Trần Văn Minh")


def test_notes_stay_private_and_out_of_the_audit_log(
    gateway_client, make_staff, handed_off, session_factory
):
    username = make_staff()
    sender, code = handed_off()
    with gateway_client() as client:
        headers = login(client, username)
        added = client.post(
            f"/api/v1/staff/tickets/{code}/notes",
            json={"text": "Người dùng có hai con nhỏ, cần gọi Hội LHPN xã."},
            headers=headers,
        )
        ticket = client.get(f"/api/v1/staff/tickets/{code}", headers=headers).json()
        seen = [m["text"] for m in person_sees(client, sender)]
    assert added.status_code == 201
    assert [n["text"] for n in ticket["notes"]] == [
        "Người dùng có hai con nhỏ, cần gọi Hội LHPN xã."
    ]
    assert not any("Hội LHPN" in text for text in seen)
    assert any(
        h["action"] == "ticket.note_added" and h["actor"] == username for h in ticket["history"]
    )
    with session_factory() as session:
        details = session.scalars(select(AuditEvent.details)).all()
    assert not any("Hội LHPN" in str(detail) for detail in details)


def test_every_view_of_a_transcript_is_in_the_audit_log(
    gateway_client, make_staff, handed_off, session_factory
):
    username = make_staff()
    _, code = handed_off()
    with gateway_client() as client:
        headers = login(client, username)
        client.get(f"/api/v1/staff/tickets/{code}", headers=headers)
        client.get(f"/api/v1/staff/tickets/{code}", headers=headers)
    with session_factory() as session:
        ticket = get_ticket_by_code(session, code)
        assert ticket is not None
        views = session.scalars(
            select(AuditEvent).where(
                AuditEvent.conversation_id == ticket.conversation_id,
                AuditEvent.action == "transcript.viewed",
            )
        ).all()
    assert [view.actor for view in views] == [username, username]


def test_resolving_needs_a_known_outcome(gateway_client, make_staff, handed_off):
    username = make_staff()
    _, code = handed_off()
    with gateway_client() as client:
        headers = login(client, username)
        client.post(f"/api/v1/staff/tickets/{code}/claim", headers=headers)
        unknown = client.post(
            f"/api/v1/staff/tickets/{code}/resolve", json={"outcome": "xong"}, headers=headers
        )
        outcomes = client.get("/api/v1/staff/outcomes", headers=headers).json()
    assert unknown.status_code == 422
    assert outcomes["counselled"] == "Đã tham vấn, hỗ trợ"


def test_cookie_sessions_need_the_csrf_token_and_the_same_origin(
    gateway_client, make_staff, handed_off
):
    username = make_staff()
    _, code = handed_off()
    with gateway_client(environment="test") as client:
        client.base_url = "https://testserver"  # the cookie is Secure
        csrf = client.post(
            "/api/v1/staff/login", json={"username": username, "password": PASSWORD}
        ).json()["csrf_token"]
        me = client.get("/api/v1/staff/me")
        without = client.post(f"/api/v1/staff/tickets/{code}/claim")
        wrong = client.post(f"/api/v1/staff/tickets/{code}/claim", headers={CSRF_HEADER: "x" * 43})
        foreign = client.post(
            f"/api/v1/staff/tickets/{code}/claim",
            headers={CSRF_HEADER: csrf, "Origin": "https://evil.example"},
        )
        allowed = client.post(
            f"/api/v1/staff/tickets/{code}/claim",
            headers={CSRF_HEADER: csrf, "Origin": "https://testserver"},
        )
        client.post("/api/v1/staff/logout", headers={CSRF_HEADER: csrf})
        after_logout = client.get("/api/v1/staff/me")
    assert me.status_code == 200 and me.json()["csrf_token"] == csrf
    assert [without.status_code, wrong.status_code, foreign.status_code] == [403, 403, 403]
    assert allowed.status_code == 200
    assert after_logout.status_code == 401


def test_a_logged_out_token_stops_working(gateway_client, make_staff):
    username = make_staff()
    with gateway_client() as client:
        headers = login(client, username)
        assert client.post("/api/v1/staff/logout", headers=headers).status_code == 204
        assert client.get("/api/v1/staff/queue", headers=headers).status_code == 401


def test_the_console_page_forbids_inline_scripts_and_framing(gateway_client):
    with gateway_client() as client:
        page = client.get("/staff")
    assert page.status_code == 200
    assert "Đăng nhập nhân viên" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"


def test_an_unclaimed_urgent_ticket_is_escalated_once_and_the_person_gets_the_numbers_again(
    gateway_client, handed_off, session_factory
):
    sender, code = handed_off("self_harm", risk="high", text="em muốn chết")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)
    with gateway_client(escalation_minutes=2) as client:
        events: list[dict[str, Any]] = []

        async def check_twice() -> list[Any]:
            async with client.gateway.hub.subscribe() as feed:
                first = await client.gateway.escalation.check(now=later)
                second = await client.gateway.escalation.check(now=later)
                while not feed.empty():
                    events.append(feed.get_nowait())
            return [first, second]

        first, second = client.run(check_twice)
        seen = [m["text"] for m in person_sees(client, sender)]
    assert code in [e.code for e in first]
    assert code not in [e.code for e in second]
    assert any(e["type"] == "escalation" and e["code"] == code for e in events)
    assert seen[-1] == f"{TEXTS.escalation_notice}\n\n{CRISIS}"
    with session_factory() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.code == code))
        assert ticket is not None and ticket.escalated_at is not None
        escalations = [
            e for e in events_of_ticket(session, ticket) if e.action == "ticket.escalated"
        ]
    assert len(escalations) == 1


def test_reading_the_queue_is_audited_without_flooding_the_log(
    gateway_client, make_staff, handed_off, session_factory
):
    username = make_staff()
    handed_off()
    with gateway_client() as client:
        headers = login(client, username)
        for _ in range(3):  # the console re-reads the queue every few seconds
            assert client.get("/api/v1/staff/queue", headers=headers).status_code == 200
    with session_factory() as session:
        views = session.scalars(
            select(AuditEvent).where(
                AuditEvent.actor == username, AuditEvent.action == "queue.viewed"
            )
        ).all()
    assert len(views) == 1 and views[0].details["tickets"] >= 1


@pytest.mark.parametrize("role", ["staff", "supervisor", "admin"])
def test_what_each_role_may_do_on_every_endpoint(
    gateway_client, make_staff, handed_off, session_factory, role
):
    username = make_staff(role)
    _, code = handed_off()
    supervisors_only = role == "staff"
    with session_factory.begin() as session:
        reply_id = add_canned_reply(session, f"Chào {username}", "Chào bạn.", actor="system").id
    with gateway_client() as client:
        headers = login(client, username)
        calls = [
            ("GET", "/me", None, 200),
            ("GET", "/queue", None, 200),
            ("GET", f"/tickets/{code}", None, 200),
            ("GET", "/outcomes", None, 200),
            ("GET", "/topics", None, 200),
            ("GET", "/members", None, 200),
            ("GET", "/canned-replies", None, 200),
            ("POST", f"/tickets/{code}/claim", None, 200),
            ("POST", f"/tickets/{code}/messages", {"text": "Chào bạn."}, 201),
            ("POST", f"/tickets/{code}/notes", {"text": "Đã hỏi nơi ở."}, 201),
            ("POST", f"/tickets/{code}/resolve", {"outcome": "counselled"}, 200),
            ("GET", "/report", None, 403 if supervisors_only else 200),
            ("POST", "/canned-replies", {"title": f"Mẫu {username}", "text": "Chào bạn."},
             403 if supervisors_only else 201),
            ("PATCH", f"/canned-replies/{reply_id}", {"active": True},
             403 if supervisors_only else 200),
            ("POST", "/logout", None, 204),
            ("GET", "/me", None, 401),
        ]  # fmt: skip
        for method, path, body, expected in calls:
            response = client.request(method, f"/api/v1/staff{path}", json=body, headers=headers)
            assert response.status_code == expected, (role, method, path, response.text)
