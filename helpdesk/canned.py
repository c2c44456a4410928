"""Canned replies: ready-made Vietnamese messages staff pick in the console and adapt.

The defaults live in `helpdesk/data/canned_replies.yml` and are loaded once into an empty
table (`seed_canned_replies`, called when the database is prepared); from then on the
table is the truth and supervisors edit it (who may edit is the console's rule). A reply is
never deleted, only made inactive, so the audit log's reply ids keep meaning something.

Usage:
    seed_canned_replies(session)                       # 11 the first time, 0 afterwards
    for reply in canned_replies(session): ...          # active ones, by title
    add_canned_reply(session, "Hẹn gọi lại", "…", actor="ha.tran")
    update_canned_reply(session, reply.id, actor="ha.tran", active=False)
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.audit import ACTOR_SYSTEM, record_event
from helpdesk.errors import CannedReplyError
from helpdesk.models import CannedReply, utc_now

DEFAULTS_FILE = Path(__file__).resolve().parent / "data" / "canned_replies.yml"
MAX_TITLE_CHARS = 120
# Zalo's limit for one text message; longer replies would be split mid-sentence.
MAX_TEXT_CHARS = 2000


@dataclass(frozen=True)
class DefaultReply:
    """One reply of the shipped file."""

    title: str
    text: str


def _clean(title: str | None, text: str | None) -> tuple[str, str]:
    """Title and text stripped and checked; CannedReplyError with what is wrong."""
    title, text = (title or "").strip(), (text or "").strip()
    if not title:
        raise CannedReplyError("Câu trả lời mẫu cần có tiêu đề.")
    if len(title) > MAX_TITLE_CHARS:
        raise CannedReplyError(f"Tiêu đề dài quá {MAX_TITLE_CHARS} ký tự.")
    if not text:
        raise CannedReplyError("Câu trả lời mẫu cần có nội dung.")
    if len(text) > MAX_TEXT_CHARS:
        raise CannedReplyError(f"Nội dung dài quá {MAX_TEXT_CHARS} ký tự.")
    return title, text


def parse_default_replies(document: Any) -> list[DefaultReply]:
    """The replies of a parsed defaults file; ValueError when it does not follow the schema."""
    if not isinstance(document, dict) or document.get("version") != 1:
        raise ValueError("canned replies file: expected a mapping with `version: 1`")
    replies = document.get("replies")
    if not isinstance(replies, list) or not replies:
        raise ValueError("canned replies file: `replies` must be a non-empty list")
    parsed: list[DefaultReply] = []
    for index, raw in enumerate(replies):
        if not isinstance(raw, dict) or set(raw) != {"title", "text"}:
            raise ValueError(f"canned replies file: reply {index} needs exactly title and text")
        try:
            title, text = _clean(raw["title"], raw["text"])
        except CannedReplyError as error:
            raise ValueError(f"canned replies file: reply {index}: {error}") from None
        parsed.append(DefaultReply(title=title, text=text))
    titles = [reply.title for reply in parsed]
    if len(set(titles)) != len(titles):
        raise ValueError("canned replies file: titles must be unique")
    return parsed


def read_default_replies(path: Path = DEFAULTS_FILE) -> list[DefaultReply]:
    """The shipped default replies, checked."""
    with path.open(encoding="utf-8") as handle:
        return parse_default_replies(yaml.safe_load(handle))


def _title_key(reply: CannedReply) -> tuple[str, str]:
    """The order a Vietnamese reader expects: "Đ" among the D's, "Ấ" among the A's.

    Sorted here rather than by the database, whose collation differs between backends.
    """
    folded = unicodedata.normalize("NFD", reply.title.casefold().replace("đ", "d"))
    return "".join(c for c in folded if not unicodedata.combining(c)), reply.title


def canned_replies(session: Session, *, include_inactive: bool = False) -> list[CannedReply]:
    """The replies staff can pick (all of them with `include_inactive`), by title."""
    query = select(CannedReply)
    if not include_inactive:
        query = query.where(CannedReply.active.is_(True))
    return sorted(session.scalars(query), key=_title_key)


def add_canned_reply(
    session: Session, title: str, text: str, *, actor: str, now: dt.datetime | None = None
) -> CannedReply:
    """A new active reply; CannedReplyError for an empty or too long title or text."""
    title, text = _clean(title, text)
    now = now or utc_now()
    reply = CannedReply(
        title=title, text=text, active=True, created_by=actor, created_at=now, updated_at=now
    )
    session.add(reply)
    session.flush()
    record_event(session, actor, "canned_reply.added", at=now, reply_id=reply.id)
    return reply


def update_canned_reply(
    session: Session,
    reply_id: int,
    *,
    actor: str,
    title: str | None = None,
    text: str | None = None,
    active: bool | None = None,
    now: dt.datetime | None = None,
) -> CannedReply:
    """Change a reply's title, text or whether staff see it; only what is given changes."""
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        raise CannedReplyError(f"Không có câu trả lời mẫu số {reply_id}.")
    new_title, new_text = _clean(
        reply.title if title is None else title, reply.text if text is None else text
    )
    changes: dict[str, str | bool] = {"title": new_title, "text": new_text}
    if active is not None:
        changes["active"] = active
    changed = sorted(name for name, value in changes.items() if getattr(reply, name) != value)
    if not changed:
        return reply
    now = now or utc_now()
    for name in changed:
        setattr(reply, name, changes[name])
    reply.updated_by = actor
    reply.updated_at = now
    record_event(
        session, actor, "canned_reply.updated", at=now, reply_id=reply.id, fields=",".join(changed)
    )
    return reply


def seed_canned_replies(
    session: Session, *, defaults: list[DefaultReply] | None = None, now: dt.datetime | None = None
) -> int:
    """Load the default replies into an empty table; how many were added (0 when not empty).

    Only an empty table is filled: once supervisors have edited or retired replies, a
    restart must not bring the old wording back.
    """
    if session.scalar(select(func.count()).select_from(CannedReply)):
        return 0
    now = now or utc_now()
    replies = defaults if defaults is not None else read_default_replies()
    session.add_all(
        CannedReply(
            title=reply.title,
            text=reply.text,
            active=True,
            created_by=ACTOR_SYSTEM,
            created_at=now,
            updated_at=now,
        )
        for reply in replies
    )
    session.flush()
    record_event(session, ACTOR_SYSTEM, "canned_reply.seeded", at=now, replies=len(replies))
    return len(replies)
