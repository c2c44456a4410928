"""Tables of the gateway: the channels' credentials that change at run time.

Zalo OA access tokens expire and each refresh token works once, so the current pair
lives in the database, not in the settings: every gateway replica reads the same pair,
and the new pair is written in the same transaction that used the old one. The settings'
tokens only seed the row (and re-seed it when an operator puts new ones in the settings).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.models import UTCDateTime, utc_now
from hotline.db import Base


class ChannelCredential(Base):
    """The current access and refresh token of one channel (`zalo`)."""

    __tablename__ = "channel_credential"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of the settings' refresh token that seeded this row: a new one re-seeds it.
    seed_fingerprint: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
