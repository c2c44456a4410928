"""End to end: `hotline run` starts the real Rasa server and action server; a person
chats with it over Rasa's REST channel in the three registers."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest

from hotline.settings import REPO_ROOT

pytestmark = pytest.mark.e2e

RASA_PORT = 15005
ACTIONS_PORT = 15055
GATEWAY_PORT = 18005
WEBHOOK = f"http://127.0.0.1:{RASA_PORT}/webhooks/rest/webhook"
EMERGENCY_NUMBERS = ("115", "113", "111", "112")


@pytest.fixture(scope="module")
def assistant(trained_model, tmp_path_factory):
    env = {
        **os.environ,
        "RASA_PORT": str(RASA_PORT),
        "RASA_URL": f"http://127.0.0.1:{RASA_PORT}",
        "ACTION_SERVER_PORT": str(ACTIONS_PORT),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ACTIONS_PORT}",
        "RASA_TRACKER_DB": str(tmp_path_factory.mktemp("rasa") / "tracker.db"),
        # a database of the test's own: never the developer's var/hotline.db
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('db') / 'hotline.db'}",
        "GATEWAY_PORT": str(GATEWAY_PORT),
    }
    # no terminal attached, as under a supervisor
    process = subprocess.Popen(
        [str(REPO_ROOT / ".venv" / "bin" / "hotline"), "run"],
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for_rasa(process)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _wait_for_rasa(process, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("hotline run exited early:\n" + process.stdout.read()[-3000:])
        try:
            rasa_up = httpx.get(f"http://127.0.0.1:{RASA_PORT}/", timeout=2).is_success
            actions_up = httpx.get(f"http://127.0.0.1:{ACTIONS_PORT}/health", timeout=2).is_success
            gateway_up = httpx.get(f"http://127.0.0.1:{GATEWAY_PORT}/healthz", timeout=5).is_success
            if rasa_up and actions_up and gateway_up:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail("Rasa did not come up in time")


def say(sender, text):
    response = httpx.post(WEBHOOK, json={"sender": sender, "message": text}, timeout=30)
    assert response.status_code == 200
    return "\n".join(m.get("text") or "" for m in response.json())


@pytest.mark.parametrize("text", ["Xin chào", "xin chao", "chàooo ad"])
def test_greeting_says_it_is_an_automated_assistant(assistant, text):
    reply = say(f"greet-{text}", text)
    assert "trợ lý tự động" in reply and "không phải người thật" in reply


@pytest.mark.parametrize(
    "text",
    [
        "Tôi không muốn sống nữa",
        "toi muon tu tu",
        "e k mun song nua 😭",
        "nó đang cầm dao đòi giết tôi",
    ],
)
def test_a_crisis_gets_the_emergency_numbers_at_once(assistant, text):
    reply = say(f"crisis-{text}", text)
    assert all(number in reply for number in EMERGENCY_NUMBERS)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("bạn giúp được những gì?", "có thể giúp bạn"),
        ("ban la nguoi that hay may vay", "không phải người thật"),
        ("tks ad nhiều nha", "Không có gì"),
        ("bye bn", "Chúc bạn bình an"),
        ("mai trời có mưa không", "ngoài khả năng"),
    ],
)
def test_conversation_basics(assistant, text, expected):
    assert expected in say(f"basics-{text}", text)


@pytest.mark.parametrize(
    "text", ["", "a" * 10_000, "<script>alert(1)</script>", "'; DROP TABLE events; --", "😭"]
)
def test_bad_input_gets_an_answer(assistant, text):
    response = httpx.post(WEBHOOK, json={"sender": "bad-input", "message": text}, timeout=30)
    assert response.status_code == 200


def test_hotline_chat_talks_to_the_running_assistant(assistant):
    result = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "hotline"), "chat"],
        input="xin chào\nbye\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GATEWAY_URL": f"http://127.0.0.1:{GATEWAY_PORT}"},
    )
    assert result.returncode == 0
    assert "Trợ lý: Xin chào, mình là trợ lý tự động" in result.stdout
    assert "Trợ lý: Chúc bạn bình an" in result.stdout


def test_hotline_chat_says_when_the_assistant_is_not_running():
    result = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "hotline"), "chat"],
        input="xin chào\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GATEWAY_URL": "http://127.0.0.1:9"},
    )
    assert result.returncode == 1
    assert "make run" in result.stdout


ASK_PLACE = "xã/phường nào"


def test_a_topic_then_the_place_then_a_social_worker_unaccented(assistant):
    first = say("dv-noacc", "chong toi hay danh toi, toi so lam")
    assert "trợ lý tự động" in first and ASK_PLACE in first
    services = say("dv-noacc", "xa my hiep, huyen cao lanh, dong thap")
    assert "Xã Mỹ Hiệp" in services and "☎" in services
    assert "kết nối với nhân viên công tác xã hội" in services
    handoff = say("dv-noacc", "có")
    assert "HT-" in handoff


def test_a_crisis_in_the_middle_of_the_place_question_teencode(assistant):
    assert ASK_PLACE in say("crisis-form", "e bị tụi bạn bắt nạt hoài 😭")
    crisis = say("crisis-form", "e mun chet luon cho r")
    assert crisis.index("115") < crisis.index("mã yêu cầu HT-")
    assert ASK_PLACE not in crisis
    assert "0912345678" in say("crisis-form", "sđt e 0912345678")


def test_a_person_who_changes_topic_with_diacritics(assistant):
    assert ASK_PLACE in say("change", "Tôi muốn hỏi về trợ cấp hộ nghèo")
    changed = say("change", "À mà ba tôi bị liệt, muốn làm giấy xác nhận khuyết tật")
    assert "khuyết tật" in changed and ASK_PLACE in changed
    assert "Đồng Nai" in say("change", "Đồng Nai")


def test_every_turn_gets_a_reply(assistant):
    for text in ["alo", "???", "cho hỏi giá vàng", "xổ số hôm nay", "ừ", "ko", "xoá dữ liệu"]:
        assert say("every-turn", text).strip()


def test_the_api_that_controls_conversations_needs_the_token(assistant):
    response = httpx.get(f"http://127.0.0.1:{RASA_PORT}/conversations/x/tracker", timeout=10)
    assert response.status_code == 401


def test_it_stops_every_process_on_sigterm(assistant):
    assistant.send_signal(signal.SIGTERM)
    assistant.wait(timeout=30)
    for port in (RASA_PORT, ACTIONS_PORT, GATEWAY_PORT):
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
