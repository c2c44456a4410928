"""The directory shipped with the project, and loading it into an empty database.

`ensure_seeded(session_factory)` is what `make run` calls on every start: it loads what is
missing — administrative units (from underthesea's reference), the taxonomy, and the seed
services of `knowledge/data/seed/*.yml` — and does nothing when they are there. The seed
files follow the schema in `knowledge/data/seed/README.md`; `read_seed` checks them.

Usage:
    report = ensure_seeded(make_session_factory(engine))
    report.loaded   # {"provinces": 34, "communes": 3321, ...} or {} when nothing was missing
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.admin_units import load_admin_units
from knowledge.errors import DirectoryError
from knowledge.models import (
    PHONE_TYPES,
    SERVICE_STATUSES,
    VERIFICATION_STATES,
    Address,
    Attribute,
    Commune,
    Location,
    Organization,
    Phone,
    Province,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)
from knowledge.places import forget_place_index, resolve_place
from knowledge.taxonomy import load_taxonomy, read_taxonomy

log = logging.getLogger(__name__)

SEED_DIR = Path(__file__).resolve().parent / "data" / "seed"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

_ORG_KEYS = {
    "id",
    "name",
    "description",
    "website",
    "email",
    "source",
    "verification",
    "verification_note",
    "verified_on",
    "services",
}
_SERVICE_KEYS = {
    "id",
    "name",
    "description",
    "url",
    "email",
    "status",
    "eligibility",
    "minimum_age",
    "maximum_age",
    "fees",
    "source",
    "verification",
    "verification_note",
    "verified_on",
    "terms",
    "area",
    "phones",
    "schedule",
    "location",
}
_PHONE_KEYS = {"number", "type", "description", "source", "verification", "last_verified"}


class SeedFileError(DirectoryError):
    """A seed file does not follow its schema."""


@dataclass
class SeedReport:
    """What `ensure_seeded` loaded (empty when the directory was already there)."""

    loaded: dict[str, int] = field(default_factory=dict)


def _fail(file: str, where: str, message: str) -> SeedFileError:
    return SeedFileError(f"{file}: {where}: {message}")


def read_seed(directory: Path = SEED_DIR) -> list[tuple[str, dict[str, Any]]]:
    """Every seed file of `directory` as (file name, document), in name order."""
    documents = []
    for path in sorted(directory.glob("*.yml")):
        with path.open(encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        if not isinstance(document, dict) or document.get("version") != 1:
            raise _fail(path.name, "đầu tệp", "cần 'version: 1'")
        if document.get("kind") not in ("directory", "commune_offices"):
            raise _fail(path.name, "đầu tệp", "'kind' phải là 'directory' hoặc 'commune_offices'")
        documents.append((path.name, document))
    if not documents:
        raise SeedFileError(f"Không có tệp dữ liệu mẫu nào trong {directory}.")
    return documents


def _provenance(
    file: str, where: str, record: dict[str, Any], inherited: str | None = None
) -> dict[str, Any]:
    source = str(record.get("source") or inherited or "").strip()
    verification = record.get("verification")
    if verification not in VERIFICATION_STATES:
        raise _fail(file, where, "'verification' phải là 'verified' hoặc 'unverified'")
    if not source:
        raise _fail(file, where, "thiếu 'source' (nguồn của thông tin)")
    if verification == "verified" and not source.startswith("http"):
        raise _fail(file, where, "bản ghi 'verified' cần nguồn công khai (một địa chỉ http)")
    return {
        "source": source,
        "verification": verification,
        "verified_on": _date(file, where, record.get("verified_on")),
    }


def _date(file: str, where: str, value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _fail(file, where, f"ngày '{value}' không đúng dạng YYYY-MM-DD") from None


def _time(file: str, where: str, value: Any) -> dt.time:
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise _fail(file, where, f"giờ '{value}' không đúng dạng HH:MM") from None


class _Builder:
    """Turns checked seed records into ORM objects, resolving names of places and terms."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.terms = set(session.scalars(select(TaxonomyTerm.code)))
        self.provinces = {
            name: code for code, name in session.execute(select(Province.code, Province.name))
        }

    def organization(self, file: str, raw: dict[str, Any]) -> list[Any]:
        where = f"tổ chức '{raw.get('id')}'"
        unknown = set(raw) - _ORG_KEYS
        if unknown:
            raise _fail(file, where, f"trường lạ: {', '.join(sorted(unknown))}")
        if not raw.get("id") or not raw.get("name"):
            raise _fail(file, where, "thiếu 'id' hoặc 'name'")
        provenance = _provenance(file, where, raw)
        org = Organization(
            id=str(raw["id"]),
            name=str(raw["name"]),
            description=raw.get("description"),
            website=raw.get("website"),
            email=raw.get("email"),
            verification_note=raw.get("verification_note"),
            **provenance,
        )
        records: list[Any] = [org]
        for service in raw.get("services") or []:
            records.extend(self.service(file, org, service))
        return records

    def service(self, file: str, org: Organization, raw: dict[str, Any]) -> list[Any]:
        where = f"dịch vụ '{raw.get('id')}'"
        unknown = set(raw) - _SERVICE_KEYS
        if unknown:
            raise _fail(file, where, f"trường lạ: {', '.join(sorted(unknown))}")
        if not raw.get("id") or not raw.get("name"):
            raise _fail(file, where, "thiếu 'id' hoặc 'name'")
        status = raw.get("status", "active")
        if status not in SERVICE_STATUSES:
            raise _fail(file, where, f"'status' phải là một trong: {', '.join(SERVICE_STATUSES)}")
        terms = raw.get("terms") or []
        missing = [term for term in terms if term not in self.terms]
        if not terms or missing:
            raise _fail(file, where, f"'terms' trống hoặc có mã không có trong taxonomy: {missing}")
        provenance = _provenance(file, where, raw, org.source)
        service = Service(
            id=str(raw["id"]),
            organization_id=org.id,
            name=str(raw["name"]),
            description=raw.get("description"),
            url=raw.get("url"),
            email=raw.get("email"),
            status=status,
            eligibility_description=raw.get("eligibility"),
            minimum_age=raw.get("minimum_age"),
            maximum_age=raw.get("maximum_age"),
            fees_description=raw.get("fees"),
            verification_note=raw.get("verification_note"),
            **provenance,
        )
        service.attributes = [
            Attribute(id=f"{service.id}:{term}", taxonomy_term_id=term) for term in terms
        ]
        service.areas = [self.area(file, where, service.id, raw.get("area"))]
        service.schedules = self.schedules(file, where, service.id, raw.get("schedule"))
        service.phones = [
            self.phone(file, where, service, number, raw_phone)
            for number, raw_phone in enumerate(raw.get("phones") or [], start=1)
        ]
        records: list[Any] = [service]
        if raw.get("location"):
            records.extend(self.location(file, where, org, service, raw["location"]))
        return records

    def area(self, file: str, where: str, service_id: str, raw: Any) -> ServiceArea:
        if raw == "national":
            return ServiceArea(id=f"{service_id}:area", scope="national", name="Toàn quốc")
        if not isinstance(raw, dict) or raw.get("province") not in self.provinces:
            raise _fail(
                file,
                where,
                "'area' phải là 'national' hoặc {province: tên tỉnh hiện nay, commune: ...}",
            )
        code = self.provinces[raw["province"]]
        if not raw.get("commune"):
            return ServiceArea(
                id=f"{service_id}:area", scope="province", province_code=code, name=raw["province"]
            )
        commune_id = self.session.scalar(
            select(Commune.id).where(Commune.province_code == code, Commune.name == raw["commune"])
        )
        if commune_id is None:
            raise _fail(
                file, where, f"không có xã/phường '{raw['commune']}' trong {raw['province']}"
            )
        return ServiceArea(
            id=f"{service_id}:area",
            scope="commune",
            province_code=code,
            commune_id=commune_id,
            name=f"{raw['commune']}, {raw['province']}",
        )

    def schedules(self, file: str, where: str, service_id: str, raw: Any) -> list[Schedule]:
        if raw is None:
            return []
        if raw == "24/7":
            return [
                Schedule(
                    id=f"{service_id}:schedule:1",
                    freq="WEEKLY",
                    byday=",".join(WEEKDAYS),
                    open_24_7=True,
                )
            ]
        if not isinstance(raw, list):
            raise _fail(file, where, "'schedule' phải là '24/7' hoặc một danh sách khung giờ")
        schedules = []
        for number, slot in enumerate(raw, start=1):
            days = slot.get("days") or []
            if not days or any(day not in WEEKDAYS for day in days):
                raise _fail(file, where, f"'days' phải gồm các mã {', '.join(WEEKDAYS)}")
            schedules.append(
                Schedule(
                    id=f"{service_id}:schedule:{number}",
                    freq="WEEKLY",
                    byday=",".join(days),
                    opens_at=_time(file, where, slot.get("opens")),
                    closes_at=_time(file, where, slot.get("closes")),
                    open_24_7=False,
                )
            )
        return schedules

    def phone(
        self, file: str, where: str, service: Service, number: int, raw: dict[str, Any]
    ) -> Phone:
        unknown = set(raw) - _PHONE_KEYS
        if unknown:
            raise _fail(file, where, f"số điện thoại có trường lạ: {', '.join(sorted(unknown))}")
        if raw.get("type") not in PHONE_TYPES:
            raise _fail(
                file, where, f"loại số điện thoại phải là một trong: {', '.join(PHONE_TYPES)}"
            )
        if not str(raw.get("number") or "").strip():
            raise _fail(file, where, "số điện thoại trống")
        inherited = {"source": service.source, "verification": service.verification}
        provenance = _provenance(file, f"{where}, số {raw['number']}", {**inherited, **raw})
        return Phone(
            id=f"{service.id}:phone:{number}",
            number=str(raw["number"]),
            type=raw["type"],
            description=raw.get("description"),
            source=provenance["source"],
            verification=provenance["verification"],
            last_verified=_date(file, where, raw.get("last_verified")),
        )

    def location(
        self, file: str, where: str, org: Organization, service: Service, raw: dict[str, Any]
    ) -> list[Any]:
        place = resolve_place(self.session, raw.get("place"))
        if not place.is_known:
            raise _fail(file, where, f"không xác định được địa bàn '{raw.get('place')}'")
        location = Location(
            id=f"{service.id}:location",
            organization_id=org.id,
            name=raw.get("name"),
            location_type="physical",
            province_code=place.province_code,
            commune_id=place.commune_id,
            source=service.source,
            verification=service.verification,
        )
        if raw.get("address"):
            location.addresses = [
                Address(
                    id=f"{service.id}:address",
                    address_1=str(raw["address"]),
                    country="VN",
                    address_type="physical",
                )
            ]
        link = ServiceAtLocation(
            id=f"{service.id}:at-location", service_id=service.id, location_id=location.id
        )
        return [location, link]

    def commune_offices(self, file: str, document: dict[str, Any]) -> list[Any]:
        records: list[Any] = []
        template = document.get("service") or {}
        for province in document.get("provinces") or []:
            if province not in self.provinces:
                raise _fail(file, "provinces", f"không có tỉnh/thành '{province}'")
            code = self.provinces[province]
            communes = self.session.execute(
                select(Commune.id, Commune.name)
                .where(Commune.province_code == code)
                .order_by(Commune.id)
            ).all()
            for commune_id, commune_name in communes:
                words = {"commune": _lower_prefix(commune_name), "province": province}
                org_id = f"org-ubnd-{code}-{commune_id}"
                org_raw = {
                    "id": org_id,
                    "name": document["organization"]["name"].format(**words),
                    "source": document.get("source"),
                    "verification": document.get("verification"),
                    "verification_note": document.get("verification_note"),
                    "services": [
                        {
                            "id": f"svc-ubnd-{code}-{commune_id}",
                            "name": template["name"].format(**words),
                            "description": str(template.get("description", "")).format(**words),
                            "verification": document.get("verification"),
                            "verification_note": document.get("verification_note"),
                            "terms": template.get("terms"),
                            "area": {"province": province, "commune": commune_name},
                        }
                    ],
                }
                records.extend(self.organization(file, org_raw))
        return records


def _lower_prefix(name: str) -> str:
    """`"Xã Mỹ Hiệp"` → `"xã Mỹ Hiệp"`, as the unit is written inside a sentence."""
    head, _, rest = name.partition(" ")
    if head in ("Xã", "Phường"):
        return f"{head.lower()} {rest}"
    if name.startswith("Đặc khu "):
        return "đặc khu " + name.removeprefix("Đặc khu ")
    return name


def load_seed(session: Session, directory: Path = SEED_DIR) -> dict[str, int]:
    """Insert the seed organizations and services; the units and taxonomy must be there."""
    builder = _Builder(session)
    records: list[Any] = []
    for file, document in read_seed(directory):
        if document["kind"] == "commune_offices":
            records.extend(builder.commune_offices(file, document))
        else:
            for raw in document.get("organizations") or []:
                records.extend(builder.organization(file, raw))
    ids = [(type(record).__name__, record.id) for record in records]
    duplicates = (
        {item for item in ids if ids.count(item) > 1} if len(ids) != len(set(ids)) else set()
    )
    if duplicates:
        raise SeedFileError(f"Mã bị trùng trong dữ liệu mẫu: {sorted(duplicates)[:5]}")
    # Organizations and locations before what points at them.
    order = (Organization, Location, Service, ServiceAtLocation)
    for kind in order:
        session.add_all(record for record in records if isinstance(record, kind))
        session.flush()
    return {
        "organizations": sum(isinstance(record, Organization) for record in records),
        "services": sum(isinstance(record, Service) for record in records),
    }


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def ensure_seeded(session_factory: sessionmaker[Session], seed_dir: Path = SEED_DIR) -> SeedReport:
    """Load what is missing of units, taxonomy and seed services; idempotent, one transaction."""
    report = SeedReport()
    engine: Engine | None = None
    try:
        with session_factory() as session, session.begin():
            bind = session.get_bind()
            engine = bind if isinstance(bind, Engine) else bind.engine
            if not _count(session, Province):
                report.loaded.update(load_admin_units(session))
                forget_place_index(engine)
            if not _count(session, TaxonomyTerm):
                report.loaded["taxonomy_terms"] = load_taxonomy(session, read_taxonomy())
            if not _count(session, Organization) and not _count(session, Service):
                report.loaded.update(load_seed(session, seed_dir))
    except Exception:
        # The lookup tables may have been built from rows that were just rolled back.
        if engine is not None:
            forget_place_index(engine)
        raise
    if report.loaded:
        log.info("directory seeded: %s", report.loaded)
    return report
