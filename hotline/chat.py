"""`hotline chat`: talk to the running assistant from a terminal.

Sends each line typed to the assistant's REST channel and prints the replies. Meant for
trying the assistant out while `make run` serves in another terminal.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

import httpx

from hotline.settings import Settings

PROMPT = "Bạn: "
BOT = "Trợ lý: "
NOT_RUNNING = (
    "Không kết nối được với trợ lý ở {url}. Hãy chạy `make run` trong một cửa sổ khác rồi thử lại.\n"
    "(The assistant is not reachable at {url}: start it with `make run` in another terminal.)"
)


def send(client: httpx.Client, url: str, sender: str, text: str) -> list[str]:
    """One turn: the texts of the assistant's replies (buttons shown as a numbered list)."""
    response = client.post(url, json={"sender": sender, "message": text})
    response.raise_for_status()
    replies = []
    for message in response.json():
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
    url = f"{settings.rasa_url}/webhooks/rest/webhook"
    sender = sender or f"terminal-{uuid.uuid4().hex[:8]}"
    output("Gõ tin nhắn rồi nhấn Enter; Ctrl-D để thoát. (Type a message; Ctrl-D to quit.)")
    with httpx.Client(timeout=settings.http_timeout_seconds) as client:
        for text in lines if lines is not None else _stdin_lines():
            if not text.strip():
                continue
            try:
                replies = send(client, url, sender, text)
            except httpx.HTTPError:
                output(NOT_RUNNING.format(url=settings.rasa_url))
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
