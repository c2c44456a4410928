"""Service directory (Open Referral HSDS 3) and administrative units after 1 July 2025.

Revision ID: 0001_directory
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_directory"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "organization",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("alternate_name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("website", sa.String(length=512), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("verification", sa.String(length=16), nullable=False),
        sa.Column("verification_note", sa.Text(), nullable=True),
        sa.Column("verified_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "verification IN ('verified', 'unverified')", name=op.f("ck_organization_verification")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
    )
    op.create_table(
        "province",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("short_name", sa.String(length=128), nullable=False),
        sa.Column("folded_name", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_province")),
        sa.UniqueConstraint("key", name=op.f("uq_province_key")),
    )
    op.create_index(op.f("ix_province_folded_name"), "province", ["folded_name"])

    op.create_table(
        "taxonomy_term",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("taxonomy", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["taxonomy_term.id"],
            name=op.f("fk_taxonomy_term_parent_id_taxonomy_term"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxonomy_term")),
        sa.UniqueConstraint("code", name=op.f("uq_taxonomy_term_code")),
    )
    op.create_table(
        "commune",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("unit_type", sa.String(length=16), nullable=False),
        sa.Column("folded_name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_code"], ["province.code"], name=op.f("fk_commune_province_code_province")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commune")),
        sa.UniqueConstraint("province_code", "key", name=op.f("uq_commune_province_code_key")),
    )
    op.create_index(op.f("ix_commune_folded_name"), "commune", ["folded_name"])
    op.create_index(op.f("ix_commune_province_code"), "commune", ["province_code"])

    op.create_table(
        "service",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("alternate_name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=512), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("eligibility_description", sa.Text(), nullable=True),
        sa.Column("minimum_age", sa.Integer(), nullable=True),
        sa.Column("maximum_age", sa.Integer(), nullable=True),
        sa.Column("fees_description", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("verification", sa.String(length=16), nullable=False),
        sa.Column("verification_note", sa.Text(), nullable=True),
        sa.Column("verified_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'inactive', 'defunct', 'temporarily closed')",
            name=op.f("ck_service_status"),
        ),
        sa.CheckConstraint(
            "verification IN ('verified', 'unverified')", name=op.f("ck_service_verification")
        ),
        sa.CheckConstraint(
            "minimum_age IS NULL OR maximum_age IS NULL OR minimum_age <= maximum_age",
            name=op.f("ck_service_age_range"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_service_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service")),
    )
    op.create_index(op.f("ix_service_organization_id"), "service", ["organization_id"])
    op.create_index(op.f("ix_service_status"), "service", ["status"])

    op.create_table(
        "taxonomy_term_topic",
        sa.Column("taxonomy_term_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["taxonomy_term_id"],
            ["taxonomy_term.id"],
            name=op.f("fk_taxonomy_term_topic_taxonomy_term_id_taxonomy_term"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("taxonomy_term_id", "topic", name=op.f("pk_taxonomy_term_topic")),
    )
    op.create_index(op.f("ix_taxonomy_term_topic_topic"), "taxonomy_term_topic", ["topic"])

    op.create_table(
        "attribute",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("taxonomy_term_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("label", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_attribute_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["taxonomy_term_id"],
            ["taxonomy_term.id"],
            name=op.f("fk_attribute_taxonomy_term_id_taxonomy_term"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribute")),
        sa.UniqueConstraint(
            "service_id", "taxonomy_term_id", name=op.f("uq_attribute_service_id_taxonomy_term_id")
        ),
    )
    op.create_index("ix_attribute_term_service", "attribute", ["taxonomy_term_id", "service_id"])

    op.create_table(
        "location",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("location_type", sa.String(length=16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("province_code", sa.String(length=8), nullable=True),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("verification", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "location_type IN ('physical', 'virtual', 'postal')",
            name=op.f("ck_location_location_type"),
        ),
        sa.CheckConstraint(
            "verification IN ('verified', 'unverified')", name=op.f("ck_location_verification")
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["commune.id"], name=op.f("fk_location_commune_id_commune")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_location_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["province_code"], ["province.code"], name=op.f("fk_location_province_code_province")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location")),
    )
    op.create_index(op.f("ix_location_organization_id"), "location", ["organization_id"])

    op.create_table(
        "place_alias",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("folded_name", sa.String(length=128), nullable=False),
        sa.Column("old_province_key", sa.String(length=64), nullable=True),
        sa.Column("old_district_folded", sa.String(length=128), nullable=True),
        sa.Column("old_district_name", sa.String(length=128), nullable=True),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.Column("mapping_type", sa.String(length=16), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('old_province', 'old_district', 'old_commune', 'common_name')",
            name=op.f("ck_place_alias_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["commune.id"], name=op.f("fk_place_alias_commune_id_commune")
        ),
        sa.ForeignKeyConstraint(
            ["province_code"], ["province.code"], name=op.f("fk_place_alias_province_code_province")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_alias")),
    )
    op.create_index(op.f("ix_place_alias_folded_name"), "place_alias", ["folded_name"])

    op.create_table(
        "service_area",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=True),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(scope = 'national' AND province_code IS NULL AND commune_id IS NULL) OR (scope = 'province' AND province_code IS NOT NULL AND commune_id IS NULL) OR (scope = 'commune' AND province_code IS NOT NULL AND commune_id IS NOT NULL)",
            name=op.f("ck_service_area_scope_units"),
        ),
        sa.CheckConstraint(
            "scope IN ('national', 'province', 'commune')", name=op.f("ck_service_area_scope")
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["commune.id"], name=op.f("fk_service_area_commune_id_commune")
        ),
        sa.ForeignKeyConstraint(
            ["province_code"],
            ["province.code"],
            name=op.f("fk_service_area_province_code_province"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_service_area_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_area")),
    )
    op.create_index(op.f("ix_service_area_commune_id"), "service_area", ["commune_id"])
    op.create_index("ix_service_area_scope_province", "service_area", ["scope", "province_code"])
    op.create_index(op.f("ix_service_area_service_id"), "service_area", ["service_id"])

    op.create_table(
        "address",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("address_1", sa.String(length=255), nullable=False),
        sa.Column("address_2", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=128), nullable=True),
        sa.Column("region", sa.String(length=128), nullable=True),
        sa.Column("state_province", sa.String(length=128), nullable=True),
        sa.Column("postal_code", sa.String(length=16), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("address_type", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["location.id"],
            name=op.f("fk_address_location_id_location"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address")),
    )
    op.create_index(op.f("ix_address_location_id"), "address", ["location_id"])

    op.create_table(
        "phone",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=True),
        sa.Column("organization_id", sa.String(length=64), nullable=True),
        sa.Column("location_id", sa.String(length=64), nullable=True),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("extension", sa.String(length=16), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("verification", sa.String(length=16), nullable=False),
        sa.Column("last_verified", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "type IN ('voice', 'text', 'hotline', 'fax')", name=op.f("ck_phone_type")
        ),
        sa.CheckConstraint(
            "verification IN ('verified', 'unverified')", name=op.f("ck_phone_verification")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["location.id"],
            name=op.f("fk_phone_location_id_location"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_phone_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_phone_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone")),
    )
    op.create_index(op.f("ix_phone_location_id"), "phone", ["location_id"])
    op.create_index(op.f("ix_phone_organization_id"), "phone", ["organization_id"])
    op.create_index(op.f("ix_phone_service_id"), "phone", ["service_id"])

    op.create_table(
        "service_at_location",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["location.id"],
            name=op.f("fk_service_at_location_location_id_location"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_service_at_location_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_at_location")),
        sa.UniqueConstraint(
            "service_id", "location_id", name=op.f("uq_service_at_location_service_id_location_id")
        ),
    )
    op.create_index(
        op.f("ix_service_at_location_location_id"), "service_at_location", ["location_id"]
    )

    op.create_table(
        "schedule",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=True),
        sa.Column("location_id", sa.String(length=64), nullable=True),
        sa.Column("service_at_location_id", sa.String(length=64), nullable=True),
        sa.Column("freq", sa.String(length=8), nullable=False),
        sa.Column("byday", sa.String(length=32), nullable=True),
        sa.Column("opens_at", sa.Time(), nullable=True),
        sa.Column("closes_at", sa.Time(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("open_24_7", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["location.id"],
            name=op.f("fk_schedule_location_id_location"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_at_location_id"],
            ["service_at_location.id"],
            name=op.f("fk_schedule_service_at_location_id_service_at_location"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_schedule_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule")),
    )
    op.create_index(op.f("ix_schedule_location_id"), "schedule", ["location_id"])
    op.create_index(
        op.f("ix_schedule_service_at_location_id"), "schedule", ["service_at_location_id"]
    )
    op.create_index(op.f("ix_schedule_service_id"), "schedule", ["service_id"])


def downgrade() -> None:
    """Undo this revision: drop every table, children first."""
    op.drop_table("schedule")
    op.drop_table("service_at_location")
    op.drop_table("phone")
    op.drop_table("address")
    op.drop_table("service_area")
    op.drop_table("place_alias")
    op.drop_table("location")
    op.drop_table("attribute")
    op.drop_table("taxonomy_term_topic")
    op.drop_table("service")
    op.drop_table("commune")
    op.drop_table("taxonomy_term")
    op.drop_table("province")
    op.drop_table("organization")
