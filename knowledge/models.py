"""Tables of the service directory.

Two groups:
- administrative units as they are since 1 July 2025 (`Province`, `Commune`: 34 provinces,
  no districts) and the former names people still use (`PlaceAlias`), each with a folded
  name (lower case, no diacritics, no prefix) for lookups;
- the directory itself, after Open Referral HSDS 3 where it fits: `Organization`,
  `Service`, `Location`, `Address`, `ServiceAtLocation`, `Phone`, `Schedule`,
  `TaxonomyTerm`, `Attribute` (a taxonomy term tagging a service), `ServiceArea`.
  Extensions to HSDS: provenance (`source`, `verification`) on every record a person
  reads, `open_24_7` on schedules, administrative links on areas and locations, and
  `TaxonomyTermTopic`, which maps terms to the help-topic intents of the assistant.

The migration `0001_directory` creates exactly these tables; a test compares the two.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import Base

SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")
VERIFICATION_STATES = ("verified", "unverified")
PHONE_TYPES = ("voice", "text", "hotline", "fax")
AREA_SCOPES = ("national", "province", "commune")
LOCATION_TYPES = ("physical", "virtual", "postal")
ALIAS_KINDS = ("old_province", "old_district", "old_commune", "common_name")

_ID = String(64)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Province(Base):
    """A province or centrally governed city (one of 34 since 1 July 2025)."""

    __tablename__ = "province"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    short_name: Mapped[str] = mapped_column(String(128))
    folded_name: Mapped[str] = mapped_column(String(128), index=True)


class Commune(Base):
    """A commune, ward or special zone (xã, phường, đặc khu), the only level under a province."""

    __tablename__ = "commune"
    __table_args__ = (UniqueConstraint("province_code", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("province.code"), index=True)
    key: Mapped[str] = mapped_column(String(96))
    name: Mapped[str] = mapped_column(String(128))
    unit_type: Mapped[str] = mapped_column(String(16))
    folded_name: Mapped[str] = mapped_column(String(128), index=True)

    province: Mapped[Province] = relationship(lazy="joined")


class PlaceAlias(Base):
    """A former or common name and the current unit it now belongs to.

    A former district that became several communes has one row per commune; a former
    province has `commune_id` null.
    """

    __tablename__ = "place_alias"
    __table_args__ = (CheckConstraint(_in("kind", ALIAS_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    folded_name: Mapped[str] = mapped_column(String(128), index=True)
    old_province_key: Mapped[str | None] = mapped_column(String(64))
    old_district_folded: Mapped[str | None] = mapped_column(String(128))
    old_district_name: Mapped[str | None] = mapped_column(String(128))
    province_code: Mapped[str] = mapped_column(ForeignKey("province.code"))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("commune.id"))
    mapping_type: Mapped[str | None] = mapped_column(String(16))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class Organization(Base):
    """HSDS organization: the body that runs services."""

    __tablename__ = "organization"
    __table_args__ = (
        CheckConstraint(_in("verification", VERIFICATION_STATES), name="verification"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    alternate_name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(Text)
    verification: Mapped[str] = mapped_column(String(16))
    verification_note: Mapped[str | None] = mapped_column(Text)
    verified_on: Mapped[dt.date | None] = mapped_column(Date)


class Service(Base):
    """HSDS service: what a person can get, from whom, and on which terms."""

    __tablename__ = "service"
    __table_args__ = (
        CheckConstraint(_in("status", SERVICE_STATUSES), name="status"),
        CheckConstraint(_in("verification", VERIFICATION_STATES), name="verification"),
        CheckConstraint(
            "minimum_age IS NULL OR maximum_age IS NULL OR minimum_age <= maximum_age",
            name="age_range",
        ),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    alternate_name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(512))
    email: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(24), index=True)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    fees_description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    verification: Mapped[str] = mapped_column(String(16))
    verification_note: Mapped[str | None] = mapped_column(Text)
    verified_on: Mapped[dt.date | None] = mapped_column(Date)

    organization: Mapped[Organization] = relationship()
    phones: Mapped[list[Phone]] = relationship(
        back_populates="service", cascade="all, delete-orphan", passive_deletes=True
    )
    schedules: Mapped[list[Schedule]] = relationship(
        back_populates="service", cascade="all, delete-orphan", passive_deletes=True
    )
    areas: Mapped[list[ServiceArea]] = relationship(
        back_populates="service", cascade="all, delete-orphan", passive_deletes=True
    )
    attributes: Mapped[list[Attribute]] = relationship(
        back_populates="service", cascade="all, delete-orphan", passive_deletes=True
    )
    at_locations: Mapped[list[ServiceAtLocation]] = relationship(
        back_populates="service", cascade="all, delete-orphan", passive_deletes=True
    )


class Location(Base):
    """HSDS location: where a service is delivered (an office, or a virtual place)."""

    __tablename__ = "location"
    __table_args__ = (
        CheckConstraint(_in("location_type", LOCATION_TYPES), name="location_type"),
        CheckConstraint(_in("verification", VERIFICATION_STATES), name="verification"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    location_type: Mapped[str] = mapped_column(String(16))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    province_code: Mapped[str | None] = mapped_column(ForeignKey("province.code"))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("commune.id"))
    source: Mapped[str] = mapped_column(Text)
    verification: Mapped[str] = mapped_column(String(16))

    addresses: Mapped[list[Address]] = relationship(
        back_populates="location", cascade="all, delete-orphan", passive_deletes=True
    )
    province: Mapped[Province | None] = relationship()
    commune: Mapped[Commune | None] = relationship()


class Address(Base):
    """HSDS address of a location (street and number; the units come from the location)."""

    __tablename__ = "address"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    location_id: Mapped[str] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    address_1: Mapped[str] = mapped_column(String(255))
    address_2: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(128))
    region: Mapped[str | None] = mapped_column(String(128))
    state_province: Mapped[str | None] = mapped_column(String(128))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2), default="VN")
    address_type: Mapped[str] = mapped_column(String(16), default="physical")

    location: Mapped[Location] = relationship(back_populates="addresses")


class ServiceAtLocation(Base):
    """HSDS service_at_location: a service offered at a location."""

    __tablename__ = "service_at_location"
    __table_args__ = (UniqueConstraint("service_id", "location_id"),)

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    location_id: Mapped[str] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str | None] = mapped_column(Text)

    service: Mapped[Service] = relationship(back_populates="at_locations")
    location: Mapped[Location] = relationship()


class Phone(Base):
    """HSDS phone, with the date someone last checked that it answers."""

    __tablename__ = "phone"
    __table_args__ = (
        CheckConstraint(_in("type", PHONE_TYPES), name="type"),
        CheckConstraint(_in("verification", VERIFICATION_STATES), name="verification"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str | None] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(32))
    extension: Mapped[str | None] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    verification: Mapped[str] = mapped_column(String(16))
    last_verified: Mapped[dt.date | None] = mapped_column(Date)

    service: Mapped[Service | None] = relationship(back_populates="phones")


class Schedule(Base):
    """HSDS schedule: weekly opening hours (iCal `byday`), or open 24 hours every day."""

    __tablename__ = "schedule"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str | None] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    service_at_location_id: Mapped[str | None] = mapped_column(
        ForeignKey("service_at_location.id", ondelete="CASCADE"), index=True
    )
    freq: Mapped[str] = mapped_column(String(8), default="WEEKLY")
    byday: Mapped[str | None] = mapped_column(String(32))
    opens_at: Mapped[dt.time | None] = mapped_column(Time)
    closes_at: Mapped[dt.time | None] = mapped_column(Time)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    open_24_7: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)

    service: Mapped[Service | None] = relationship(back_populates="schedules")


class TaxonomyTerm(Base):
    """HSDS taxonomy_term of the Vietnamese hotline taxonomy."""

    __tablename__ = "taxonomy_term"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("taxonomy_term.id"))
    taxonomy: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="vi")

    topics: Mapped[list[TaxonomyTermTopic]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class TaxonomyTermTopic(Base):
    """Which help topic (intent of INTENTS.md) a taxonomy term serves."""

    __tablename__ = "taxonomy_term_topic"

    taxonomy_term_id: Mapped[str] = mapped_column(
        ForeignKey("taxonomy_term.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class Attribute(Base):
    """HSDS attribute, restricted to services: tags a service with a taxonomy term."""

    __tablename__ = "attribute"
    __table_args__ = (
        UniqueConstraint("service_id", "taxonomy_term_id"),
        Index("ix_attribute_term_service", "taxonomy_term_id", "service_id"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    taxonomy_term_id: Mapped[str] = mapped_column(
        ForeignKey("taxonomy_term.id", ondelete="CASCADE")
    )
    value: Mapped[str | None] = mapped_column(String(255))
    label: Mapped[str | None] = mapped_column(String(255))

    service: Mapped[Service] = relationship(back_populates="attributes")
    term: Mapped[TaxonomyTerm] = relationship()


class ServiceArea(Base):
    """HSDS service_area: the whole country, a province, or one commune."""

    __tablename__ = "service_area"
    __table_args__ = (
        CheckConstraint(_in("scope", AREA_SCOPES), name="scope"),
        CheckConstraint(
            "(scope = 'national' AND province_code IS NULL AND commune_id IS NULL)"
            " OR (scope = 'province' AND province_code IS NOT NULL AND commune_id IS NULL)"
            " OR (scope = 'commune' AND province_code IS NOT NULL AND commune_id IS NOT NULL)",
            name="scope_units",
        ),
        Index("ix_service_area_scope_province", "scope", "province_code"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(16))
    # For a commune-wide area the province is kept too, so "anything in this province" is one lookup.
    province_code: Mapped[str | None] = mapped_column(ForeignKey("province.code"))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("commune.id"), index=True)

    service: Mapped[Service] = relationship(back_populates="areas")
    province: Mapped[Province | None] = relationship()
    commune: Mapped[Commune | None] = relationship()


# Deleting these in this order never trips a foreign key; the import's "replace" uses it.
DIRECTORY_TABLES_CHILD_FIRST = (
    Attribute,
    ServiceArea,
    Schedule,
    Phone,
    ServiceAtLocation,
    Address,
    Service,
    Location,
    Organization,
)
