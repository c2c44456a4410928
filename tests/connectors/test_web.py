"""The web chat's server side: the page, the conversation kept by the browser's id, and
the live stream that brings a staff reply arriving later."""

from __future__ import annotations

import json
import secrets
import threading

import httpx
import pytest

from tests.connectors.gateway_server import GatewayServer


def client_id() -> str:
    return secrets.token_urlsafe(18)


def test_the_page_is_vietnamese_and_fits_a_phone(gateway_client):
    with gateway_client() as client:
        page = client.get("/")
        script = client.get("/static/chat.js")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert 'name="viewport" content="width=device-width' in page.text
    assert "Tổng đài Công tác xã hội" in page.text
    assert script.status_code == 200 and "localStorage" in script.text


def test_a_conversation_is_kept_across_reloads(gateway_client):
    me = client_id()
    with gateway_client() as client:
        turn = client.post("/api/v1/web/messages", json={"client_id": me, "text": "xin chào"})
        history = client.get(f"/api/v1/web/conversations/{me}/messages").json()["messages"]
        later = client.get(
            f"/api/v1/web/conversations/{me}/messages", params={"after": history[0]["id"]}
        ).json()["messages"]
        stranger = client.get(f"/api/v1/web/conversations/{client_id()}/messages").json()
    assert turn.status_code == 200
    body = turn.json()
    assert body["message_id"] == history[0]["id"]
    assert [(r["from"], r["text"]) for r in body["replies"]] == [
        ("bot", "Xin chào, mình là trợ lý tự động.")
    ]
    assert [(m["from"], m["text"]) for m in history] == [
        ("person", "xin chào"),
        ("bot", "Xin chào, mình là trợ lý tự động."),
    ]
    assert [m["text"] for m in later] == ["Xin chào, mình là trợ lý tự động."]
    assert stranger == {"messages": []}


@pytest.mark.parametrize("bad_id", ["short", "has spaces in it and is long enough", "x" * 65])
def test_a_malformed_client_id_is_refused(gateway_client, bad_id):
    with gateway_client() as client:
        posted = client.post("/api/v1/web/messages", json={"client_id": bad_id, "text": "hi"})
        read = client.get(f"/api/v1/web/conversations/{bad_id}/messages")
    assert posted.status_code == 422 and read.status_code in (404, 422)


def test_a_staff_reply_arrives_on_the_live_stream(make_settings, session_factory):
    me = client_id()
    with GatewayServer(make_settings(), session_factory) as server:
        httpx.post(f"{server.url}/api/v1/web/messages", json={"client_id": me, "text": "xin chào"})
        received: list[dict] = []
        connected = threading.Event()

        def listen() -> None:
            with httpx.stream(
                "GET", f"{server.url}/api/v1/web/conversations/{me}/events", timeout=10
            ) as stream:
                for line in stream.iter_lines():
                    connected.set()
                    if line.startswith("data: "):
                        received.append(json.loads(line[6:]))
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert connected.wait(5)
        conversation_id = server.conversation_id("web", me)
        server.call(
            server.gateway.outbound.send_to_person(
                conversation_id, "Chào em, chị là Lan.", author="staff", staff_username="lan"
            )
        )
        listener.join(5)
    (event,) = received
    assert event["from"] == "staff" and event["text"] == "Chào em, chị là Lan."
    assert event["type"] == "message" and event["delivery_status"] == "sent"
