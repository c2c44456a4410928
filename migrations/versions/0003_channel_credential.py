"""Gateway: the channels' run-time credentials (Zalo OA access and refresh tokens).

Revision ID: 0003_channel_credential
Revises: 0002_helpdesk
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_channel_credential"
down_revision: str | Sequence[str] | None = "0002_helpdesk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "channel_credential",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seed_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_credential")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("channel_credential")
