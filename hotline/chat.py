"""`hotline chat`: talk to the running assistant from a terminal.

Sends each line typed to the gateway's REST API (`POST /api/v1/messages`, the path every
channel takes: stored, routed, answered) and prints the replies. Meant for trying the
assistant out while `make run` serves in another terminal.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

import httpx

from hotline.settings import Settings

PROMPT = "Bạn: "
BOT = "Trợ lý: "
HANDED_OFF = "(Tin nhắn đã được chuyển cho nhân viên công tác xã hội; họ sẽ trả lời tại đây.)"
NOT_RUNNING = (
    "Không kết nối được với trợ lý ở {url}. Hãy chạy `make run` trong một cửa sổ khác rồi thử lại.\n"
    "(The assistant is not reachable at {url}: start it with `make run` in another terminal.)"
)


def send(client: httpx.Client, url: str, sender: str, text: str) -> list[str]:
    """One turn: the texts of the assistant's replies (buttons shown as a numbered list)."""
    response = client.post(url, json={"sender_id": sender, "text": text})
    if response.status_code in (422, 429):
        # the gateway's own answer to this message (too long, too fast): show it
        detail = response.json().get("detail")
        return [detail if isinstance(detail, str) else detail[0]["msg"]]
    response.raise_for_status()
    answer = response.json()
    if answer.get("handed_off") and not answer["replies"]:
        return [HANDED_OFF]
    replies = []
    for message in answer["replies"]:
        lines = [message.get("text") or ""]
        for number, button in enumerate(message.get("buttons") or [], 1):
            lines.append(f"  {number}. {button.get('title')}")
        replies.append("\n".join(line for line in lines if line))
    return replies


def chat(
    settings: Settings,
    lines: Iterable[str] | None = None,
    output: Callable[[str], None] = print,
    sender: str | None = None,
) -> int:
    """Read lines (stdin by default), print replies; returns an exit code."""
    base = settings.gateway_base_url
    url = f"{base}/api/v1/messages"
    sender = sender or f"terminal-{uuid.uuid4().hex[:8]}"
    headers = {}
    if settings.gateway_api_token is not None:
        headers["Authorization"] = f"Bearer {settings.gateway_api_token.get_secret_value()}"
    output("Gõ tin nhắn rồi nhấn Enter; Ctrl-D để thoát. (Type a message; Ctrl-D to quit.)")
    timeout = settings.rasa_timeout_seconds + settings.http_timeout_seconds
    with httpx.Client(timeout=timeout, headers=headers) as client:
        for text in lines if lines is not None else _stdin_lines():
            if not text.strip():
                continue
            try:
                replies = send(client, url, sender, text)
            except httpx.HTTPError:
                output(NOT_RUNNING.format(url=base))
                return 1
            for reply in replies or ["(không có trả lời)"]:
                output(BOT + reply)
    return 0


def _stdin_lines() -> Iterable[str]:
    while True:
        try:
            yield input(PROMPT)
        except (EOFError, KeyboardInterrupt):
            print()
            return
