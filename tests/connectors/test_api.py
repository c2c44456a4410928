"""The REST API for integrators and the router behind every channel: stored first, to the
bot or the staff, and a kind answer with a ticket (and the emergency numbers when the
risk is high) when Rasa or the action server is down."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, insert, select

from connectors.schemas import MessagesOut
from connectors.texts import load_crisis_text, load_texts
from helpdesk.models import Conversation, Message
from helpdesk.privacy import delete_person_data
from hotline.rasa_tracker import EVENTS
from tests.connectors.standins import default_replies

TEXTS = load_texts()
CRISIS = load_crisis_text()
CLOSED_PORT_URL = "http://127.0.0.1:9"


def post(client, sender_id, text, **extra):
    return client.post("/api/v1/messages", json={"sender_id": sender_id, "text": text, **extra})


def test_a_message_gets_the_bots_replies(gateway_client, fake_rasa, unique_id):
    sender = unique_id("api")
    with gateway_client() as client:
        response = post(client, sender, "xin chào")
    assert response.status_code == 200
    assert response.json() == {
        "replies": [{"text": "Xin chào, mình là trợ lý tự động.", "buttons": []}],
        "ticket": None,
        "handed_off": False,
    }
    (call,) = fake_rasa.calls_to("webhook")
    assert call["sender"] == f"api:{sender}"
    assert call["message"] == "xin chào"
    assert call["metadata"] == {"channel": "api", "sender_id": sender}


def test_buttons_come_with_their_payloads_and_a_chosen_payload_goes_to_rasa(
    gateway_client, fake_rasa, unique_id
):
    sender = unique_id("api")
    with gateway_client() as client:
        offered = post(client, sender, "cho mình xem nút").json()["replies"][0]
        chosen = post(client, sender, "Có", payload="/affirm").json()
        stored = [m.text for m in client.messages("api", sender) if m.author == "person"]
    assert offered["buttons"] == [
        {"title": "Có", "payload": "/affirm"},
        {"title": "Không", "payload": "/deny"},
    ]
    assert chosen["replies"][0]["text"] == "Bạn đã chọn: có."
    assert fake_rasa.calls_to("webhook")[-1]["message"] == "/affirm"
    assert stored == ["cho mình xem nút", "Có"]  # the transcript shows what the person saw


def test_every_answer_is_the_documented_schema(gateway_client, unique_id):
    # The handler builds the body itself (no round trip through the model): hold it to it.
    with gateway_client(rasa_url=CLOSED_PORT_URL) as client:
        outage = post(client, unique_id("api"), "tôi không muốn sống nữa").json()
    with gateway_client() as client:
        buttons = post(client, unique_id("api"), "cho mình xem nút").json()
    assert outage["ticket"] is not None and buttons["replies"][0]["buttons"]
    for body in (outage, buttons):
        assert MessagesOut.model_validate(body).model_dump(mode="json") == body


def test_the_message_is_stored_before_rasa_sees_it(
    gateway_client, fake_rasa, unique_id, session_factory
):
    sender = unique_id("api")
    seen_in_database = []

    def replier(rasa_sender, text):
        with session_factory() as session:
            seen_in_database.append(
                session.scalar(
                    select(Message.text)
                    .join(Conversation)
                    .where(Conversation.sender_id == sender, Message.direction == "in")
                )
            )
        return [{"text": "ok"}]

    fake_rasa.replier = replier
    try:
        with gateway_client() as client:
            assert post(client, sender, "chuyện nhà em").status_code == 200
    finally:
        from tests.connectors.standins import default_replies

        fake_rasa.replier = default_replies
    assert seen_in_database == ["chuyện nhà em"]


def test_rasa_down_gets_a_kind_message_a_ticket_and_staff(gateway_client, unique_id):
    sender = unique_id("api")
    with gateway_client(rasa_url=CLOSED_PORT_URL) as client:
        response = post(client, sender, "em cần giúp đỡ")
        body = response.json()
        stored = [(m.author, m.text) for m in client.messages("api", sender)]
        conversation = client.conversation("api", sender)
    assert response.status_code == 200
    ticket = body["ticket"]
    assert ticket["status"] == "open" and ticket["priority"] == "normal"
    assert body["replies"] == [
        {"text": TEXTS.assistant_unavailable.format(ticket_code=ticket["code"]), "buttons": []}
    ]
    assert body["handed_off"] is True
    assert conversation.handoff_state == "waiting"
    assert stored[0] == ("person", "em cần giúp đỡ")  # never lost


def test_rasa_down_and_risk_high_still_gets_the_emergency_numbers_first(gateway_client, unique_id):
    sender = unique_id("api")
    with gateway_client(rasa_url=CLOSED_PORT_URL) as client:
        body = post(client, sender, "tôi không muốn sống nữa").json()
    texts = [reply["text"] for reply in body["replies"]]
    assert texts[0] == CRISIS
    assert all(number in texts[0] for number in ("111", "113", "115"))
    assert texts[1] == TEXTS.assistant_unavailable.format(ticket_code=body["ticket"]["code"])
    assert body["ticket"]["priority"] == "urgent"


def test_action_server_down_is_an_outage_too_and_rasas_own_replies_are_kept(
    gateway_client, fake_rasa, unique_id
):
    fake_rasa.actions_up = False
    sender = unique_id("api")
    with gateway_client() as client:
        body = post(client, sender, "xin chào").json()
    assert [r["text"] for r in body["replies"]] == [
        "Xin chào, mình là trợ lý tự động.",
        TEXTS.assistant_unavailable.format(ticket_code=body["ticket"]["code"]),
    ]
    assert body["handed_off"] is True


def test_rasa_answering_nothing_is_an_outage_too(gateway_client, unique_id):
    # what happens when Rasa cannot reach the action server: the turn ends without a word
    with gateway_client() as client:
        body = post(client, unique_id("api"), "im lặng nào").json()
    assert [r["text"] for r in body["replies"]] == [
        TEXTS.assistant_unavailable.format(ticket_code=body["ticket"]["code"])
    ]
    assert body["handed_off"] is True


def test_rasa_answering_an_error_is_an_outage(gateway_client, fake_rasa, unique_id):
    fake_rasa.fail_next("webhook", 500)
    with gateway_client() as client:
        body = post(client, unique_id("api"), "xin chào").json()
    assert body["ticket"] is not None and body["handed_off"] is True


def test_a_handed_off_conversation_goes_to_staff_and_the_bot_stays_silent(
    gateway_client, fake_rasa, unique_id
):
    sender = unique_id("api")
    with gateway_client(rasa_url=CLOSED_PORT_URL) as client:
        post(client, sender, "em cần giúp đỡ")  # the outage hands it to staff
    with gateway_client() as client:
        body = post(client, sender, "chị ơi em vẫn ở đây").json()
        stored = [m.text for m in client.messages("api", sender) if m.author == "person"]
    assert body["replies"] == [] and body["handed_off"] is True
    assert fake_rasa.calls_to("webhook") == []
    assert stored == ["em cần giúp đỡ", "chị ơi em vẫn ở đây"]


def test_risk_high_while_waiting_for_staff_gets_the_numbers_and_an_urgent_ticket(
    gateway_client, fake_rasa, unique_id
):
    sender = unique_id("api")
    with gateway_client(rasa_url=CLOSED_PORT_URL) as client:
        first = post(client, sender, "em cần giúp đỡ").json()
    assert first["ticket"]["priority"] == "normal"
    with gateway_client() as client:
        body = post(client, sender, "em muốn chết cho xong").json()
    assert [r["text"] for r in body["replies"]] == [CRISIS]
    assert body["ticket"] == {**first["ticket"], "priority": "urgent"}
    assert fake_rasa.calls_to("webhook") == []


def test_a_number_sent_while_waiting_for_staff_is_kept_for_the_call_back(
    gateway_client, fake_rasa, unique_id
):
    sender = unique_id("api")
    with gateway_client(rasa_url=CLOSED_PORT_URL) as client:
        code = post(client, sender, "em muốn chết").json()["ticket"]["code"]
    with gateway_client() as client:
        body = post(client, sender, "sđt của em là 0912 345 678 ạ").json()
        (ticket,) = client.tickets("api", sender)
    assert [r["text"] for r in body["replies"]] == [
        TEXTS.callback_noted.format(phone="0912345678", ticket_code=code)
    ]
    assert ticket.callback_phone == "0912345678"
    assert fake_rasa.calls_to("webhook") == []


def test_staff_replies_come_back_through_the_same_path(gateway_client, unique_id):
    sender = unique_id("api")
    with gateway_client(rasa_url=CLOSED_PORT_URL) as client:
        post(client, sender, "em cần giúp đỡ")
        conversation = client.conversation("api", sender)
        client.run(
            lambda: client.gateway.outbound.send_to_person(
                conversation.id, "Chào em, chị là Lan.", author="system"
            )
        )
        history = client.get("/api/v1/messages", params={"sender_id": sender}).json()["messages"]
        later = client.get(
            "/api/v1/messages", params={"sender_id": sender, "after": history[-2]["id"]}
        ).json()["messages"]
    assert [m["from"] for m in history] == ["person", "system", "system"]
    assert history[-1]["text"] == "Chào em, chị là Lan."
    assert history[-1]["delivery_status"] == "sent"
    assert [m["text"] for m in later] == ["Chào em, chị là Lan."]


def test_a_flood_is_limited_but_never_a_message_with_risk_high(
    gateway_client, fake_rasa, unique_id
):
    sender = unique_id("api")
    with gateway_client(rate_limit_burst=3, rate_limit_per_minute=1) as client:
        statuses = [post(client, sender, f"tin {n}").status_code for n in range(3)]
        limited = post(client, sender, "tin nữa")
        urgent = post(client, sender, "em muốn chết")
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json() == {"detail": TEXTS.rate_limited}
    assert int(limited.headers["Retry-After"]) >= 1
    assert urgent.status_code == 200
    assert [c["message"] for c in fake_rasa.calls_to("webhook")][-1] == "em muốn chết"


def test_one_senders_flood_does_not_limit_another(gateway_client, unique_id):
    with gateway_client(rate_limit_burst=1, rate_limit_per_minute=1) as client:
        flooder = unique_id("api")
        post(client, flooder, "một")
        assert post(client, flooder, "hai").status_code == 429
        assert post(client, unique_id("api"), "chào").status_code == 200


@pytest.mark.parametrize(
    "body, message",
    [
        ({"sender_id": "x", "text": "   "}, "Tin nhắn trống: hãy nhập nội dung."),
        ({"sender_id": "x", "text": "a" * 10_000}, "String should have at most 5000 characters"),
        ({"sender_id": "", "text": "chào"}, "String should have at least 1 character"),
        ({"text": "chào"}, "Field required"),
    ],
)
def test_bad_messages_get_a_clear_answer(gateway_client, body, message):
    with gateway_client() as client:
        response = client.post("/api/v1/messages", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == message


def test_malformed_json_gets_a_clear_answer(gateway_client):
    with gateway_client() as client:
        response = client.post(
            "/api/v1/messages",
            content=b'{"sender_id": "x", "text": ',
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_the_api_token_is_required_when_set(gateway_client, unique_id):
    token = "integrator-token-0123456789abcdef"
    with gateway_client(gateway_api_token=token) as client:
        missing = post(client, unique_id("api"), "chào")
        wrong = client.post(
            "/api/v1/messages",
            json={"sender_id": "x", "text": "chào"},
            headers={"Authorization": "Bearer nope"},
        )
        right = client.post(
            "/api/v1/messages",
            json={"sender_id": unique_id("api"), "text": "chào"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert missing.status_code == wrong.status_code == 401
    assert missing.json() == {
        "detail": "Thiếu hoặc sai mã truy cập API (Authorization: Bearer ...)."
    }
    assert right.status_code == 200


def test_a_database_outage_stores_nothing_and_says_so(make_settings, unique_id):
    from fastapi.testclient import TestClient

    from connectors.app import DATABASE_DOWN, create_app
    from hotline.db import make_engine, make_session_factory

    engine = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:9/nothing", connect_args={"connect_timeout": 2}
    )
    app = create_app(
        make_settings(), session_factory=make_session_factory(engine), assess_risk=lambda t: "none"
    )
    with TestClient(app) as client:
        response = post(client, unique_id("api"), "chào")
    engine.dispose()
    assert response.status_code == 503
    assert response.json() == {"detail": DATABASE_DOWN}
    assert response.headers["Retry-After"] == "30"


def test_the_api_is_documented_in_openapi(gateway_client):
    with gateway_client() as client:
        schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/messages"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/MessageIn"
    )
    assert {"200", "401", "422", "429", "503"} <= set(operation["responses"])
    answer = schema["components"]["schemas"]["MessagesOut"]
    assert set(answer["properties"]) == {"replies", "ticket", "handed_off"}
    assert set(schema["components"]["schemas"]["TicketOut"]["properties"]) == {
        "code",
        "status",
        "priority",
    }


def test_healthz_is_ok_only_when_every_part_answers(gateway_client, fake_rasa):
    with gateway_client() as client:
        healthy = client.get("/healthz")
        fake_rasa.actions_up = False
        actions_down = client.get("/healthz")
    with gateway_client(rasa_url=CLOSED_PORT_URL) as client:
        rasa_down = client.get("/healthz")
    assert healthy.status_code == 200
    assert healthy.json() == {
        "status": "ok", "gateway": "ok", "database": "ok", "rasa": "ok", "action_server": "ok",
    }  # fmt: skip
    assert actions_down.status_code == 503 and actions_down.json()["action_server"] == "down"
    assert rasa_down.status_code == 503 and rasa_down.json()["rasa"] == "down"


def test_replies_of_one_conversation_keep_their_order(gateway_client, fake_rasa, unique_id):
    import concurrent.futures

    sender = unique_id("api")
    fake_rasa.delay = 0.05
    with gateway_client() as client, concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: post(client, sender, f"tin số {n}"), range(6)))
        stored = client.messages("api", sender)
    # every message is answered once, after it was stored (messages sent at the same
    # moment have no order of their own; one conversation's turns never overlap)
    asked = {m.text: m.id for m in stored if m.author == "person"}
    answered = [m for m in stored if m.author == "bot"]
    assert len(asked) == 6
    assert sorted(m.text for m in answered) == sorted(f"Mình đã nghe: {t}" for t in asked)
    assert all(m.id > asked[m.text.removeprefix("Mình đã nghe: ")] for m in answered)
    turns = sorted((c["started"], c["ended"]) for c in fake_rasa.calls_to("webhook"))
    assert all(end <= next_start for (_, end), (next_start, _) in zip(turns, turns[1:]))


def test_a_deletion_confirmation_reaches_the_person_and_leaves_no_trace_here_or_in_rasa(
    gateway_client, fake_rasa, unique_id, session_factory, tmp_path
):
    sender = unique_id("api")
    tracker = f"sqlite:///{tmp_path / 'rasa-tracker.db'}"
    engine = create_engine(tracker)
    EVENTS.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), [{"sender_id": f"api:{sender}", "timestamp": 1.0}] * 3)

    def deleting_replier(rasa_sender: str, text: str) -> list[dict]:
        # What action_delete_my_data does in the action server, then its confirmation.
        if "xóa" not in text:
            return default_replies(rasa_sender, text)
        with session_factory.begin() as session:
            delete_person_data(session, "api", sender, salt="test-salt")
        return [{"recipient_id": rasa_sender, "text": "Mình đã xóa cuộc trò chuyện của bạn."}]

    fake_rasa.replier = deleting_replier
    try:
        with gateway_client(rasa_tracker_url=tracker) as client:
            post(client, sender, "xin chào")
            body = post(client, sender, "xóa dữ liệu của tôi").json()
            left = client.messages("api", sender)
    finally:
        fake_rasa.replier = default_replies
    with engine.connect() as connection:
        rasa_events = connection.execute(select(EVENTS.c.id)).all()
    engine.dispose()
    assert [r["text"] for r in body["replies"]] == ["Mình đã xóa cuộc trò chuyện của bạn."]
    assert left == [] and rasa_events == []
