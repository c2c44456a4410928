"""Handoff to a person, end to end: the real Rasa server and action server hand the
conversation over, a staff member works it from the console in real chromium (or through
the staff JSON API for Telegram), and the assistant answers again once it is resolved.

The staff account is made with `hotline staff add`, as an administrator would."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import httpx
import pytest

from connectors.texts import load_texts
from tests.connectors.conftest import PHONE, TELEGRAM_SECRET, wait_for
from tests.connectors.running import GATEWAY, HOTLINE, RUN
from tests.connectors.test_telegram import text_update

pytestmark = pytest.mark.e2e

TEXTS = load_texts()
PASSWORD = "mat-khau-cua-lan-2026"
CODE = re.compile(r"mã yêu cầu ([A-Z0-9-]+)")


def add_staff(assistant: Any, username: str, name: str, role: str = "staff") -> None:
    result = subprocess.run(
        [HOTLINE, "staff", "add", username, "--role", role, "--name", name],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=assistant.env,
    )
    assert result.returncode == 0, result.stderr


def test_a_person_in_the_web_chat_talks_with_a_social_worker_in_the_console(assistant, browser):
    add_staff(assistant, f"lan-{RUN}", "Nguyễn Thị Lan")
    person = browser.new_context(**PHONE).new_page()
    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()

    # The person asks for a human; the real assistant opens a ticket and hands off.
    person.goto(f"{GATEWAY}/")
    person.fill("#input", "Cho tôi nói chuyện với nhân viên")
    person.click("#send")
    person.wait_for_selector(".bubble--bot >> text=mã yêu cầu", timeout=60_000)
    code = CODE.search(person.locator(".bubble--bot").last.inner_text()).group(1)

    # The social worker logs in, finds the ticket in the queue, claims it and replies.
    staff.goto(f"{GATEWAY}/staff")
    staff.fill("#username", f"lan-{RUN}")
    staff.fill("#password", PASSWORD)
    staff.click("#login-button")
    staff.wait_for_selector("body[data-live=on]")  # the console's live stream is connected
    staff.click(f".queue__open[data-code='{code}']", timeout=15_000)
    staff.wait_for_selector("#claim:visible")
    staff.click("#claim")
    staff.wait_for_selector("#reply-form:visible")
    staff.fill("#reply-text", "Chào bạn, mình là Lan, nhân viên công tác xã hội. Bạn đang ổn chứ?")
    staff.click("#reply-send")

    joined = TEXTS.staff_joined.format(staff_name="Nguyễn Thị Lan")
    person.wait_for_selector(f".bubble--system >> text={joined[:40]}")
    person.wait_for_selector(".bubble--staff >> text=mình là Lan")

    # The person writes; the console shows it live, as text (never as HTML).
    bot_said = person.locator(".bubble--bot").count()
    person.fill("#input", "Em ổn, cảm ơn chị <b>Lan</b>")
    person.click("#send")
    line = staff.wait_for_selector(".line--person >> text=cảm ơn chị", timeout=10_000)
    assert "<b>Lan</b>" in line.inner_text()
    assert staff.locator(".line--person b").count() == 0
    assert person.locator(".bubble--bot").count() == bot_said  # the bot stayed silent

    # The social worker resolves; the person is told, and the assistant answers again.
    staff.select_option("#outcome", "counselled")
    staff.click("#resolve")
    person.wait_for_selector(f".bubble--system >> text={TEXTS.returned_to_assistant[:40]}")
    person.fill("#input", "xin chào")
    person.click("#send")
    wait_for(lambda: person.locator(".bubble--bot").count() > bot_said, timeout=60)
    assert "Chào bạn" in person.locator(".bubble--bot").last.inner_text()
    staff.wait_for_selector(f".queue__open[data-code='{code}']", state="detached")


def test_a_telegram_user_talks_with_a_social_worker_through_the_staff_api(assistant, platforms):
    telegram, _ = platforms
    add_staff(assistant, f"minh-{RUN}", "Trần Văn Minh")
    chat = int(RUN, 16) + 7
    webhook_headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}

    def person_writes(text: str) -> None:
        response = httpx.post(
            f"{GATEWAY}/webhooks/telegram",
            json=text_update(chat, text),
            headers=webhook_headers,
            timeout=10,
        )
        assert response.status_code == 200

    person_writes("tôi muốn gặp nhân viên")
    handoff = wait_for(
        lambda: [t for t in telegram.sent_texts(chat) if "mã yêu cầu" in t], timeout=60
    )
    code = CODE.search(handoff[0]).group(1)

    api = httpx.Client(base_url=f"{GATEWAY}/api/v1/staff", timeout=30)
    token = api.post("/login", json={"username": f"minh-{RUN}", "password": PASSWORD})
    api.headers["Authorization"] = f"Bearer {token.json()['token']}"
    queue = api.get("/queue").json()
    assert next(e for e in queue if e["code"] == code)["channel"] == "telegram"

    assert api.post(f"/tickets/{code}/claim").json()["status"] == "assigned"
    reply = api.post(f"/tickets/{code}/messages", json={"text": "Chào anh, tôi là Minh."})
    assert reply.status_code == 201
    wait_for(lambda: "Chào anh, tôi là Minh." in telegram.sent_texts(chat), timeout=10)
    assert TEXTS.staff_joined.format(staff_name="Trần Văn Minh") in telegram.sent_texts(chat)

    sent_before = len(telegram.sent_texts(chat))
    person_writes("tôi bị mất việc, không có tiền nuôi con")
    transcript = wait_for(
        lambda: [
            m
            for m in api.get(f"/tickets/{code}").json()["messages"]
            if m["text"] == "tôi bị mất việc, không có tiền nuôi con"
        ],
        timeout=10,
    )
    assert transcript[0]["from"] == "person"
    assert len(telegram.sent_texts(chat)) == sent_before  # the bot stayed silent

    resolved = api.post(f"/tickets/{code}/resolve", json={"outcome": "referred"})
    assert resolved.json()["status"] == "resolved"
    wait_for(lambda: TEXTS.returned_to_assistant in telegram.sent_texts(chat), timeout=10)
    back_with_bot = len(telegram.sent_texts(chat))
    person_writes("xin chào")
    answer = wait_for(lambda: telegram.sent_texts(chat)[back_with_bot:], timeout=60)
    assert "Chào bạn" in answer[0]
