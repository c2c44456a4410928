"""Stand-in servers on 127.0.0.1 that speak the platforms' APIs and record what they get.

Each is a small ASGI app served by uvicorn in a thread on a free port: real HTTP, so the
gateway's real clients (python-telegram-bot, httpx) talk to them exactly as they would
to Telegram or Zalo; only the base-URL settings differ. Tests can make the next calls
fail (`fail_next`) to exercise retries, and read `calls` to see what was sent.

- `TelegramBotApi`: `getMe`, `sendMessage`, `setWebhook`, `deleteWebhook`,
  `getUpdates` (fed with `push_update`), `answerCallbackQuery`.
- `ZaloApis`: the OA customer-service message API and the OAuth token endpoint, with
  expiring access tokens and single-use refresh tokens.
- `ZaloBotApi`: `sendMessage`, `setWebhook`.
- `FakeRasa`: Rasa's REST channel and root, and the action server's `/health`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse


class StandIn:
    """An ASGI app served in a background thread on 127.0.0.1."""

    def __init__(self) -> None:
        self.app = FastAPI()
        self.calls: list[dict[str, Any]] = []
        self._failures: deque[tuple[str, int, Any]] = deque()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, listen_after: float = 0.0) -> StandIn:
        """Serve on a free port. With `listen_after`, the port is taken at once but refuses
        connections for that many seconds (a server still starting), and this returns
        without waiting."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        server = self._server = uvicorn.Server(config)

        def serve() -> None:
            time.sleep(listen_after)  # bound but not listening: connections are refused
            server.run(sockets=[sock])

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if listen_after:
            return self
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stand-in server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self._failures.clear()

    def record(self, method: str, **params: Any) -> None:
        with self._lock:
            self.calls.append({"method": method, **params})

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [call for call in self.calls if call["method"] == method]

    def fail_next(self, method: str, status: int, times: int = 1, body: Any = None) -> None:
        """The next `times` calls of `method` answer `status` with `body`."""
        with self._lock:
            for _ in range(times):
                self._failures.append((method, status, body))

    def _failure(self, method: str) -> JSONResponse | None:
        with self._lock:
            for failure in self._failures:
                if failure[0] == method:
                    self._failures.remove(failure)
                    _, status, body = failure
                    return JSONResponse(body or {"ok": False, "error_code": status}, status)
        return None


async def _params(request: Request) -> dict[str, Any]:
    """A Bot API call's parameters, sent as JSON or as a form (python-telegram-bot)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()
        return json.loads(body) if body else {}
    params: dict[str, Any] = {}
    for key, text in (await _form(request)).items():
        try:
            params[key] = json.loads(text) if key in ("reply_markup", "allowed_updates") else text
        except ValueError:
            params[key] = text
    return params


async def _form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (what both clients send)."""
    pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
    return dict(pairs)


class TelegramBotApi(StandIn):
    """Telegram's Bot API for one bot token."""

    token = "123456789:AAStandInTokenForTestsOnly-abcdefghij"

    def __init__(self) -> None:
        super().__init__()
        self._message_id = 1000
        self._updates: deque[dict[str, Any]] = deque()
        self.app.add_api_route("/bot{token}/{method}", self._handle, methods=["GET", "POST"])

    @property
    def base_url(self) -> str:
        """The value of TELEGRAM_API_BASE_URL (the client appends the token)."""
        return f"{self.url}/bot"

    def push_update(self, update: dict[str, Any]) -> None:
        with self._lock:
            self._updates.append(update)

    def sent_texts(self, chat_id: int | str) -> list[str]:
        return [
            c["text"] for c in self.calls_to("sendMessage") if str(c["chat_id"]) == str(chat_id)
        ]

    async def _handle(self, token: str, method: str, request: Request) -> JSONResponse:
        if token != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        params = await _params(request)
        failure = self._failure(method)
        if method != "getUpdates":
            self.record(method, accepted=failure is None, **params)
        if failure is not None:
            return failure
        if method == "getMe":
            return _ok(
                {
                    "id": 123456789,
                    "is_bot": True,
                    "first_name": "Hotline",
                    "username": "hotline_test_bot",
                }
            )
        if method == "sendMessage":
            with self._lock:
                self._message_id += 1
                message_id = self._message_id
            chat = {"id": int(params["chat_id"]), "type": "private"}
            return _ok(
                {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": chat,
                    "text": params.get("text", ""),
                }
            )
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        if method in ("setWebhook", "deleteWebhook", "answerCallbackQuery"):
            return _ok(True)
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 1.0)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                # Updates below the offset are confirmed: Telegram forgets them.
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
                pending = list(self._updates)[:1]
            if pending or time.monotonic() >= deadline:
                return pending
            await asyncio.sleep(0.05)


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


class ZaloApis(StandIn):
    """Zalo's OA message API and OAuth endpoint, with real token rotation."""

    app_id = "3030303030303030303"
    app_secret = "standin-app-secret-value"
    oa_secret_key = "standin-oa-secret-key-value"

    def __init__(self) -> None:
        super().__init__()
        self.access_token = "access-0"
        self.refresh_token = "refresh-0"
        self.spent_refresh_tokens: set[str] = set()
        self.refreshes = 0
        self.expires_in = "90000"
        self._message_id = 0
        self.app.add_api_route("/v3.0/oa/message/cs", self._send, methods=["POST"])
        self.app.add_api_route("/v4/oa/access_token", self._refresh, methods=["POST"])

    def set_tokens(self, access: str, refresh: str) -> None:
        with self._lock:
            self.access_token, self.refresh_token = access, refresh

    def expire_access_token(self) -> None:
        with self._lock:
            self.access_token = f"{self.access_token}-expired-by-test"

    def sent_texts(self, user_id: str) -> list[str]:
        return [
            c["body"]["message"]["text"]
            for c in self.calls_to("message/cs")
            if c["body"]["recipient"]["user_id"] == user_id and c.get("accepted")
        ]

    async def _send(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        token = request.headers.get("access_token")
        failure = self._failure("message/cs")
        if failure is not None:
            self.record("message/cs", body=body, token=token, accepted=False)
            return failure
        with self._lock:
            valid = token == self.access_token
            self._message_id += 1
            message_id = f"{self._message_id:032x}"
        self.record("message/cs", body=body, token=token, accepted=valid)
        if not valid:
            return JSONResponse({"error": -216, "message": "Access token is invalid"})
        return JSONResponse(
            {
                "error": 0,
                "message": "Success",
                "data": {"message_id": message_id, "user_id": body["recipient"]["user_id"]},
            }
        )

    async def _refresh(self, request: Request) -> JSONResponse:
        form = await _form(request)
        self.record("access_token", form=form, secret_key=request.headers.get("secret_key"))
        failure = self._failure("access_token")
        if failure is not None:
            return failure
        given = form.get("refresh_token")
        with self._lock:
            if (
                request.headers.get("secret_key") != self.app_secret
                or form.get("app_id") != self.app_id
                or form.get("grant_type") != "refresh_token"
                or given != self.refresh_token
            ):
                return JSONResponse(
                    {
                        "error": -14014,
                        "error_name": "Invalid refresh token",
                        "error_description": "invalid",
                    }
                )
            self.spent_refresh_tokens.add(str(given))
            self.refreshes += 1
            self.access_token = f"access-{self.refreshes}"
            self.refresh_token = f"refresh-{self.refreshes}"
            return JSONResponse(
                {
                    "access_token": self.access_token,
                    "refresh_token": self.refresh_token,
                    "expires_in": self.expires_in,
                }
            )


class ZaloBotApi(StandIn):
    """The Zalo Bot Platform's API for one bot token."""

    token = "2468013579:ZaloBotStandInToken"

    def __init__(self) -> None:
        super().__init__()
        self._message_id = 0
        self.app.add_api_route("/bot{token}/{method}", self._handle, methods=["POST"])

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    def sent_texts(self, chat_id: str) -> list[str]:
        return [
            c["text"]
            for c in self.calls_to("sendMessage")
            if c["chat_id"] == chat_id and c["accepted"]
        ]

    async def _handle(self, token: str, method: str, request: Request) -> JSONResponse:
        if token != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        params = json.loads(await request.body())
        failure = self._failure(method)
        self.record(method, accepted=failure is None, **params)
        if failure is not None:
            return failure
        if method == "sendMessage":
            with self._lock:
                self._message_id += 1
                message_id = str(self._message_id)
            return _ok({"message_id": message_id, "date": int(time.time() * 1000)})
        return _ok(True)


Replier = Callable[[str, str], list[dict[str, Any]]]


def default_replies(sender: str, text: str) -> list[dict[str, Any]]:
    """What the fake Rasa says: enough variety to exercise the channels."""
    if text == "/greet" or text.lower().startswith("xin chào"):
        return [{"recipient_id": sender, "text": "Xin chào, mình là trợ lý tự động."}]
    if "nút" in text:
        return [{
            "recipient_id": sender,
            "text": "Bạn có muốn gặp nhân viên không?",
            "buttons": [{"title": "Có", "payload": "/affirm"}, {"title": "Không", "payload": "/deny"}],
        }]  # fmt: skip
    if text == "/affirm":
        return [{"recipient_id": sender, "text": "Bạn đã chọn: có."}]
    if "dài" in text:
        paragraph = "Đây là một đoạn thông tin về dịch vụ hỗ trợ, gọi 1900 969 680 khi cần. " * 12
        return [{"recipient_id": sender, "text": "\n\n".join([paragraph.strip()] * 9)}]
    if "im lặng" in text:
        return []
    return [{"recipient_id": sender, "text": f"Mình đã nghe: {text}"}]


class FakeRasa(StandIn):
    """Rasa's REST channel (and `GET /`), plus the action server's `/health`."""

    def __init__(self, replier: Replier = default_replies) -> None:
        super().__init__()
        self.replier = replier
        self.actions_up = True
        self.delay = 0.0
        self.app.add_api_route("/webhooks/rest/webhook", self._webhook, methods=["POST"])
        self.app.add_api_route("/", self._root, methods=["GET"])
        self.app.add_api_route("/health", self._health, methods=["GET"])

    def reset(self) -> None:
        super().reset()
        self.actions_up = True
        self.delay = 0.0

    async def _webhook(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        started = time.monotonic()
        failure = self._failure("webhook")
        if failure is not None:
            self.record("webhook", **body)
            return failure
        if self.delay:
            await asyncio.sleep(self.delay)
        replies = self.replier(body["sender"], body["message"])
        self.record("webhook", started=started, ended=time.monotonic(), **body)
        return JSONResponse(replies)

    async def _root(self) -> PlainTextResponse:
        return PlainTextResponse("Hello from Rasa: 3.6.21")

    async def _health(self) -> JSONResponse:
        if not self.actions_up:
            return JSONResponse({"status": "down"}, 503)
        return JSONResponse({"status": "ok"})
