"""The web chat in a real browser: Debian's chromium driven by Playwright, on a phone-sized
screen, against the gateway served by uvicorn (with the fake Rasa behind it).

Playwright's own browser download does not work on these machines: the test uses
`/usr/bin/chromium` (`apt-get install chromium`; scripts/setup.sh installs it).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from hotline.settings import REPO_ROOT
from tests.connectors.conftest import PHONE
from tests.connectors.gateway_server import GatewayServer

pytestmark = pytest.mark.e2e

SCREENSHOT = REPO_ROOT / "build" / "webchat-phone.png"


@pytest.fixture
def server(make_settings, session_factory) -> Iterator[GatewayServer]:
    with GatewayServer(make_settings(), session_factory) as server:
        yield server


def bubbles(page, author: str) -> list[str]:
    return page.locator(f".bubble--{author}").all_inner_texts()


def test_a_person_chats_on_a_phone(browser, server):
    from playwright.sync_api import expect

    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(server.url + "/")
    expect(page.locator(".bubble--bot").first).to_contain_text("Xin chào!")
    expect(page.locator('.chat__emergency a[href="tel:113"]')).to_have_text("113")

    page.fill("#input", "xin chào")
    page.keyboard.press("Enter")
    expect(page.locator(".bubble--bot").last).to_have_text("Xin chào, mình là trợ lý tự động.")

    # the bot's buttons are rendered, and choosing one answers with its payload
    page.fill("#input", "cho xem nút")
    page.click("#send")
    choices = page.locator(".choices button")
    expect(choices).to_have_text(["Có", "Không"])
    choices.first.click()
    expect(page.locator(".bubble--bot").last).to_have_text("Bạn đã chọn: có.")
    expect(page.locator(".bubble--person").last).to_have_text("Có")
    expect(choices.first).to_be_disabled()

    # phone numbers in a reply can be tapped
    page.fill("#input", "cho mình thông tin dài")
    page.click("#send")
    phone_link = page.locator('.bubble--bot a[href="tel:1900969680"]').first
    expect(phone_link).to_have_text("1900 969 680")

    # what a person types is shown as text, never run as HTML
    page.fill("#input", '<img src=x onerror="window.hacked=1">')
    page.click("#send")
    expect(page.locator(".bubble--bot").last).to_contain_text("<img src=x")
    assert page.locator(".chat__log img").count() == 0
    assert page.evaluate("window.hacked") is None

    # nothing sticks out of a phone's screen
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    # a reload shows the same conversation
    client_id = page.evaluate("localStorage.getItem('hotline.webchat.client_id')")
    before = bubbles(page, "person")
    page.reload()
    expect(page.locator(".bubble--person")).to_have_count(len(before))
    assert bubbles(page, "person") == before
    assert page.evaluate("localStorage.getItem('hotline.webchat.client_id')") == client_id

    # a staff member's reply arrives without a reload
    page.wait_for_timeout(300)  # the event stream connects after the history is shown
    conversation_id = server.conversation_id("web", client_id)
    server.call(
        server.gateway.outbound.send_to_person(
            conversation_id, "Chào em, chị là Lan, nhân viên công tác xã hội. Em gọi chị qua 0912 345 678 nhé.",
            author="staff", staff_username="lan",
        )
    )  # fmt: skip
    staff = page.locator(".bubble--staff")
    expect(staff).to_contain_text("Chào em, chị là Lan")
    expect(staff.locator(".bubble__who")).to_have_text("Nhân viên công tác xã hội")
    expect(staff.locator('a[href="tel:0912345678"]')).to_have_text("0912 345 678")
    context.close()


def test_a_new_conversation_starts_clean_and_a_refused_message_is_given_back(
    browser, make_settings, session_factory
):
    from playwright.sync_api import expect

    with GatewayServer(
        make_settings(rate_limit_burst=1, rate_limit_per_minute=1), session_factory
    ) as server:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.add_init_script(
            f"localStorage.setItem('hotline.webchat.client_id', '{secrets.token_urlsafe(18)}')"
        )
        page.goto(server.url + "/")
        page.fill("#input", "xin chào")
        page.keyboard.press("Enter")
        expect(page.locator(".bubble--bot").last).to_have_text("Xin chào, mình là trợ lý tự động.")
        page.fill("#input", "tin thứ hai quá nhanh")
        page.keyboard.press("Enter")
        expect(page.locator("#status")).to_have_text(
            "Bạn nhắn hơi nhanh nên mình chưa kịp đọc hết. Bạn đợi vài giây rồi nhắn tiếp giúp mình nhé."
        )
        expect(page.locator("#input")).to_have_value("tin thứ hai quá nhanh")
        page.click("#new-conversation")
        expect(page.locator(".bubble--person")).to_have_count(0)
        context.close()
