"""Zalo Official Account (API v3): webhook events in, customer-service messages out.

Inbound: `POST /webhooks/zalo`, signed in `X-ZEvent-Signature: mac=<hex>`, where hex is
the SHA-256 (not an HMAC) of `app_id + raw body + timestamp + OA secret key`. Zalo
wants an answer within 2 seconds: the gateway stores the message, answers, and lets
the bot work afterwards. Message ids (`msg_id`, or `mid` in some sources) de-duplicate
Zalo's re-deliveries; ids stay strings, since they overflow JavaScript's numbers.

Outbound: `POST {ZALO_OA_API_BASE_URL}/v3.0/oa/message/cs` with the access token in the
`access_token` header. Error -216 means the token expired: it is refreshed
(`ZaloTokens`) and the message sent again.

Tokens: the access token lives about a day; the refresh token works once. The current
pair lives in the `channel_credential` row; a refresh locks that row (PostgreSQL), calls
Zalo's OAuth endpoint and writes the new pair in the same transaction, and only one
task per process refreshes at a time, so a refresh token is never spent twice by us.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from connectors.channels.base import ZALO_OA, Button, DeliveryError, Inbound, is_retryable_status
from connectors.models import ChannelCredential
from connectors.store import Store
from helpdesk.models import utc_now
from hotline.settings import Settings

logger = logging.getLogger(__name__)

MAX_CHARS = 2000
TOKEN_EXPIRED = -216
# Refresh this long before Zalo's stated expiry, so that no send meets an expired token.
REFRESH_MARGIN = dt.timedelta(minutes=5)

TEXT_EVENTS = frozenset({"user_send_text", "anonymous_send_text", "user_click_button"})
CONTENT_EVENTS = {
    f"{who}_send_{what}": kind
    for who in ("user", "anonymous")
    for what, kind in (
        ("image", "image"), ("gif", "video"), ("link", "link"), ("audio", "audio"),
        ("video", "video"), ("sticker", "sticker"), ("location", "location"),
        ("file", "file"), ("business_card", "contact"),
    )
}  # fmt: skip


def signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """Zalo's event signature: hex SHA-256 of app id, raw body, timestamp and OA secret key."""
    digest = hashlib.sha256()
    for piece in (app_id.encode(), body, timestamp.encode(), oa_secret_key.encode()):
        digest.update(piece)
    return digest.hexdigest()


def signature_matches(
    header: str | None, *, app_id: str, body: bytes, timestamp: str, oa_secret_key: str
) -> bool:
    """Whether `X-ZEvent-Signature` (`mac=<hex>`) signs this body (constant-time)."""
    if not header:
        return False
    given = header.strip()
    if given.lower().startswith("mac="):
        given = given[4:]
    expected = signature(app_id, body, timestamp, oa_secret_key)
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def parse_event(payload: dict[str, Any]) -> Inbound | None:
    """The person's message in a Zalo OA event; None for events with nothing to answer
    (delivery and seen receipts, follow, unfollow, the OA's own messages)."""
    event = str(payload.get("event_name") or "")
    message: dict[str, Any] = payload.get("message") or {}
    if not isinstance(message, dict):
        raise ValueError("event with a malformed message")
    sender_field = payload.get("sender")
    sender = sender_field.get("id") if isinstance(sender_field, dict) else None
    if event not in TEXT_EVENTS and event not in CONTENT_EVENTS:
        return None
    if sender is None or str(sender) == "":
        raise ValueError("event without a sender")
    message_id = message.get("msg_id") or message.get("mid")
    channel_message_id = str(message_id) if message_id not in (None, "") else None
    if event in TEXT_EVENTS:
        return Inbound(ZALO_OA, str(sender), str(message.get("text") or ""), channel_message_id)
    return Inbound(
        ZALO_OA, str(sender), str(message.get("text") or ""), channel_message_id,
        kind=CONTENT_EVENTS[event],
    )  # fmt: skip


class ZaloAuthError(Exception):
    """Zalo refused to refresh the access token (the refresh token is spent or revoked)."""


@dataclass(frozen=True)
class _Tokens:
    access_token: str | None
    expires_at: dt.datetime | None

    def usable(self, now: dt.datetime) -> bool:
        if not self.access_token:
            return False
        return self.expires_at is None or self.expires_at - now > REFRESH_MARGIN


def _fingerprint(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


class ZaloTokens:
    """The OA's current access token, refreshed in place when it expires."""

    def __init__(self, settings: Settings, store: Store) -> None:
        assert settings.zalo_oa_refresh_token is not None and settings.zalo_app_secret is not None
        self._settings = settings
        self._store = store
        self._seed_access = (
            settings.zalo_oa_access_token.get_secret_value()
            if settings.zalo_oa_access_token
            else None
        )
        self._seed_refresh = settings.zalo_oa_refresh_token.get_secret_value()
        self._current: _Tokens | None = None
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        """A token to send with; refreshed first when it is missing or about to expire."""
        current = self._current
        if current is not None and current.usable(utc_now()):
            assert current.access_token is not None
            return current.access_token
        return await self.refresh(stale=None)

    async def refresh(self, stale: str | None) -> str:
        """A fresh token after `stale` failed (None: just make sure one is usable)."""
        async with self._lock:
            current = self._current
            if current is not None and current.access_token != stale and current.usable(utc_now()):
                assert current.access_token is not None
                return current.access_token  # another task refreshed while this one waited
            # No retry of the transaction: it may already have spent a refresh token.
            self._current = await self._store.run(
                lambda session: self._obtain(session, stale), retry=False
            )
            assert self._current.access_token is not None
            return self._current.access_token

    def _obtain(self, session: Session, stale: str | None) -> _Tokens:
        """In one transaction: lock the row, seed it, and refresh unless already fresh."""
        row = self._locked_row(session)
        now = utc_now()
        tokens = _Tokens(row.access_token, row.access_expires_at)
        if tokens.usable(now) and row.access_token != stale:
            return tokens
        answer = self._call_oauth(row.refresh_token)
        row.access_token = answer["access_token"]
        row.refresh_token = answer["refresh_token"]
        row.access_expires_at = now + dt.timedelta(seconds=int(answer["expires_in"]))
        row.updated_at = now
        # The new pair is committed with this transaction; the old refresh token is spent.
        session.flush()
        logger.info("Zalo OA access token refreshed; valid until %s", row.access_expires_at)
        return _Tokens(row.access_token, row.access_expires_at)

    def _locked_row(self, session: Session) -> ChannelCredential:
        fingerprint = _fingerprint(self._seed_refresh)
        # Write first: this locks the row on PostgreSQL and the database on SQLite before
        # anything is read, so no other writer can slip in between the read and the
        # write of the new pair (SQLite would then refuse the write, losing the pair).
        session.execute(
            update(ChannelCredential)
            .where(ChannelCredential.channel == ZALO_OA)
            .values(updated_at=ChannelCredential.updated_at)
        )
        query = select(ChannelCredential).where(ChannelCredential.channel == ZALO_OA)
        row = session.scalar(query.with_for_update())
        if row is not None and row.seed_fingerprint == fingerprint:
            return row
        if row is None:
            row = ChannelCredential(channel=ZALO_OA)
            try:
                with session.begin_nested():
                    self._seed(row, fingerprint)
                    session.add(row)
            except IntegrityError:
                # Another replica seeded it at the same moment: use theirs.
                found = session.scalar(query.with_for_update())
                assert found is not None
                return found
            return row
        # The operator put new tokens in the settings: they replace the stored pair.
        self._seed(row, fingerprint)
        return row

    def _seed(self, row: ChannelCredential, fingerprint: str) -> None:
        row.access_token = self._seed_access
        row.refresh_token = self._seed_refresh
        row.access_expires_at = None
        row.seed_fingerprint = fingerprint
        row.updated_at = utc_now()

    def _call_oauth(self, refresh_token: str) -> dict[str, Any]:
        settings = self._settings
        assert settings.zalo_app_secret is not None and settings.zalo_app_id is not None
        url = f"{settings.zalo_oauth_base_url.rstrip('/')}/v4/oa/access_token"
        # Only a request that never left is retried: a refresh Zalo received spent the token.
        for attempt in Retrying(
            retry=retry_if_exception_type(httpx.ConnectError),
            stop=stop_after_attempt(3),
            wait=wait_exponential(multiplier=0.5, max=4),
            reraise=True,
        ):
            with attempt, httpx.Client(timeout=settings.http_timeout_seconds) as client:
                response = client.post(
                    url,
                    headers={"secret_key": settings.zalo_app_secret.get_secret_value()},
                    data={
                        "refresh_token": refresh_token,
                        "app_id": settings.zalo_app_id,
                        "grant_type": "refresh_token",
                    },
                )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if (
            response.status_code != 200
            or not answer.get("access_token")
            or not answer.get("refresh_token")
        ):
            code = answer.get("error", response.status_code)
            logger.error("Zalo refused the token refresh (error %s): set new tokens", code)
            raise ZaloAuthError(f"Zalo: làm mới access token thất bại (lỗi {code})")
        answer.setdefault("expires_in", 3600)
        return answer


class ZaloOAChannel:
    """Sends customer-service messages as the Official Account."""

    name = ZALO_OA
    max_chars = MAX_CHARS
    supports_buttons = False

    def __init__(self, settings: Settings, http: httpx.AsyncClient, tokens: ZaloTokens) -> None:
        assert settings.zalo_app_id is not None and settings.zalo_oa_secret_key is not None
        self._app_id = settings.zalo_app_id
        self._secret_key = settings.zalo_oa_secret_key.get_secret_value()
        self._url = f"{settings.zalo_oa_api_base_url.rstrip('/')}/v3.0/oa/message/cs"
        self._http = http
        self._timeout = settings.http_timeout_seconds
        self.tokens = tokens

    def verify(self, header: str | None, body: bytes, timestamp: str) -> bool:
        return signature_matches(
            header,
            app_id=self._app_id,
            body=body,
            timestamp=timestamp,
            oa_secret_key=self._secret_key,
        )

    async def send(self, recipient_id: str, text: str, buttons: Sequence[Button]) -> str | None:
        body = {"recipient": {"user_id": recipient_id}, "message": {"text": text}}
        for first_try in (True, False):
            try:
                token = await self.tokens.access_token()
            except (ZaloAuthError, httpx.HTTPError) as error:
                raise DeliveryError(
                    str(error) or type(error).__name__, retryable=isinstance(error, httpx.HTTPError)
                ) from error
            try:
                response = await self._http.post(
                    self._url, headers={"access_token": token}, json=body, timeout=self._timeout
                )
            except httpx.HTTPError as error:
                raise DeliveryError(f"Zalo: {type(error).__name__}", retryable=True) from error
            if is_retryable_status(response.status_code):
                raise DeliveryError(f"Zalo: HTTP {response.status_code}", retryable=True)
            try:
                answer = response.json()
            except ValueError as error:
                raise DeliveryError(
                    f"Zalo: HTTP {response.status_code}, không phải JSON", retryable=False
                ) from error
            code = answer.get("error")
            if code == 0:
                return str((answer.get("data") or {}).get("message_id") or "") or None
            if code == TOKEN_EXPIRED and first_try:
                await self._refresh_or_fail(token)
                continue
            raise DeliveryError(
                f"Zalo: lỗi {code}: {answer.get('message', '')}"[:200], retryable=False
            )
        raise DeliveryError("Zalo: access token vẫn hết hạn sau khi làm mới", retryable=False)

    async def _refresh_or_fail(self, stale: str) -> None:
        try:
            await self.tokens.refresh(stale=stale)
        except ZaloAuthError as error:
            raise DeliveryError(str(error), retryable=False) from error
        except httpx.HTTPError as error:
            raise DeliveryError(f"Zalo OAuth: {type(error).__name__}", retryable=True) from error
