"""The staff console in real chromium, for what the end-to-end flow does not cover: a
supervisor is alerted when an urgent ticket waits too long, reads the report, and
edits a canned reply that staff then use; a wrong password is refused politely. The
gateway runs under uvicorn with the fake Rasa; tickets are made as the action server
makes them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk.conversations import get_or_create_conversation, record_inbound
from helpdesk.staff import add_staff
from helpdesk.tickets import open_or_reuse_ticket, request_handoff
from tests.connectors.gateway_server import GatewayServer

pytestmark = pytest.mark.e2e

PASSWORD = "mật-khẩu-giám-sát-2026"


@pytest.fixture
def server(make_settings, session_factory) -> Iterator[GatewayServer]:
    settings = make_settings(escalation_minutes=0.02, escalation_check_seconds=0.5)
    with GatewayServer(settings, session_factory) as server:
        yield server


def urgent_ticket(session_factory, sender: str) -> str:
    with session_factory.begin() as session:
        conversation = get_or_create_conversation(session, "api", sender)
        record_inbound(session, conversation, "em đang đứng trên cầu")
        ticket, _ = open_or_reuse_ticket(session, conversation, topic="self_harm", risk="high")
        request_handoff(session, conversation, ticket)
        return ticket.code


def log_in(page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/staff")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-button")


def test_a_supervisor_is_alerted_reads_the_report_and_edits_canned_replies(
    browser, server, session_factory, unique_id
):
    supervisor, worker = unique_id("gs").lower(), unique_id("nv").lower()
    with session_factory.begin() as session:
        add_staff(session, supervisor, "supervisor", PASSWORD, display_name="Lê Thu Hà")
        add_staff(session, worker, "staff", PASSWORD, display_name="Phạm An")
    console = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = console.new_page()
    log_in(page, server.url, supervisor)
    page.wait_for_selector("#who >> text=Lê Thu Hà")
    page.wait_for_selector("body[data-live=on]")  # the live stream is connected

    code = urgent_ticket(session_factory, unique_id("person"))
    alert = page.wait_for_selector(f"#alert >> text={code}", timeout=15_000)
    assert "chưa có ai nhận" in alert.inner_text()
    page.wait_for_selector(f".queue__item--urgent .queue__open[data-code='{code}']")
    assert "quá hạn nhận" in page.inner_text(f".queue__open[data-code='{code}']")

    page.click("[data-view=report]")
    page.wait_for_selector(".summary >> text=Người có yêu cầu")
    assert "khủng hoảng tâm lý" in page.inner_text("#report")  # topics by their Vietnamese label

    page.fill("#canned-title", "Hỏi thăm an toàn")
    page.fill("#canned-text", "Bạn đang ở nơi an toàn chưa? Mình ở đây với bạn.")
    page.click("#canned-form button")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#canned-admin input')]"
        ".some((input) => input.value === 'Hỏi thăm an toàn')"
    )

    # A staff member sees the new canned reply, but not the report.
    staff_console = browser.new_context(locale="vi-VN")
    staff_page = staff_console.new_page()
    log_in(staff_page, server.url, worker)
    staff_page.wait_for_selector("#who >> text=Phạm An")
    assert staff_page.locator("#report-tab").is_hidden()
    staff_page.wait_for_selector("#canned option >> text=Hỏi thăm an toàn", state="attached")
    for context in (console, staff_console):
        context.close()  # ends the live streams before the server stops


def test_a_wrong_password_is_refused_with_a_clear_message(browser, server):
    page = browser.new_context(locale="vi-VN").new_page()
    log_in(page, server.url, "khong-co-ai", "mật-khẩu-sai-rồi")
    error = page.wait_for_selector("#login-error:visible")
    assert error.inner_text() == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert page.locator("#desk-view").is_hidden()
