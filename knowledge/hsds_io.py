"""Import and export of the directory in Open Referral HSDS tabular form.

A directory travels as CSV files (UTF-8, header row) in a folder or a zip:
organizations, services, locations, addresses, service_at_locations, phones, schedules,
taxonomy_terms, attributes and service_areas (`.csv`). Columns follow HSDS 3 where it has
them; our extensions are `source`, `verification`, `verification_note`, `verified_on`,
`last_verified`, `open_24_7`, `topics` (on taxonomy terms), `scope`, and places written as
current names (`province`, `commune`) rather than codes.

An import checks every row of every file first and refuses the whole lot if one row is
wrong, listing each bad row with its file, line and reason; only then does it write, in one
savepoint, so the directory is never half-written. `mode="extend"` inserts new records and
updates those whose id exists; `mode="replace"` first removes every organization, service
and what hangs off them (administrative units and taxonomy stay).

Usage:
    report = import_directory(session, Path("directory.zip"), mode="extend")
    export_directory(session, Path("backup.zip"))
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from knowledge.errors import DirectoryError, ImportRejectedError, RowProblem
from knowledge.folding import accent_key, fold
from knowledge.models import (
    AREA_SCOPES,
    DIRECTORY_TABLES_CHILD_FIRST,
    LOCATION_TYPES,
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
    TaxonomyTermTopic,
)
from knowledge.places import PlaceIndex, get_place_index
from knowledge.taxonomy import HELP_TOPICS

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MODES = ("extend", "replace")


# ---------------------------------------------------------------- column types


class _Bad(ValueError):
    """A cell that cannot be read; the message is the reason shown to the operator."""


def _text(limit: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > limit:
            raise _Bad(f"dài {len(value)} ký tự, tối đa {limit}")
        return value

    return parse


def _choice(choices: Iterable[str]) -> Callable[[str], str]:
    allowed = tuple(choices)

    def parse(value: str) -> str:
        if value not in allowed:
            raise _Bad(f"'{value[:40]}' không hợp lệ; chọn một trong: {', '.join(allowed)}")
        return value

    return parse


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise _Bad(f"'{value[:40]}' không phải số nguyên") from None
        if not low <= number <= high:
            raise _Bad(f"{number} nằm ngoài khoảng {low}-{high}")
        return number

    return parse


def _real(low: float, high: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise _Bad(f"'{value[:40]}' không phải số") from None
        if not low <= number <= high:
            raise _Bad(f"{number} nằm ngoài khoảng {low}-{high}")
        return number

    return parse


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _Bad(f"'{value[:40]}' không phải ngày dạng YYYY-MM-DD") from None


def _time(value: str) -> dt.time:
    try:
        parsed = dt.time.fromisoformat(value)
    except ValueError:
        raise _Bad(f"'{value[:40]}' không phải giờ dạng HH:MM") from None
    return parsed.replace(tzinfo=None)


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "có", "x"):
        return True
    if lowered in ("false", "0", "no", "không", ""):
        return False
    raise _Bad(f"'{value[:40]}' không phải true/false")


def _byday(value: str) -> str:
    days = [day.strip().upper() for day in value.split(",") if day.strip()]
    wrong = [day for day in days if day not in WEEKDAYS]
    if wrong or not days:
        raise _Bad(f"ngày trong tuần phải là các mã {', '.join(WEEKDAYS)}, cách nhau bằng dấu phẩy")
    return ",".join(days)


def _topics(value: str) -> list[str]:
    topics = [topic.strip() for topic in value.split(",") if topic.strip()]
    wrong = [topic for topic in topics if topic not in HELP_TOPICS]
    if wrong:
        raise _Bad(f"chủ đề không có trong danh mục: {', '.join(wrong)}")
    return topics


_ID = _text(64)
_NAME = _text(255)
_LONG = _text(10_000)
_VERIFICATION = _choice(VERIFICATION_STATES)


@dataclass(frozen=True)
class Column:
    """A CSV column: its parser, whether a value is required, and a default."""

    name: str
    parse: Callable[[str], Any]
    required: bool = False
    default: Any = None


@dataclass(frozen=True)
class TableSpec:
    """How one HSDS CSV file maps onto one table."""

    file: str
    # Any: the table classes share no base that declares `id` for the type checker.
    model: Any
    columns: tuple[Column, ...]

    @property
    def required_headers(self) -> set[str]:
        return {column.name for column in self.columns if column.required}


SPECS: tuple[TableSpec, ...] = (
    TableSpec(
        "taxonomy_terms.csv",
        TaxonomyTerm,
        (
            Column("id", _ID, True),
            Column("code", _text(64), True),
            Column("name", _NAME, True),
            Column("description", _LONG),
            Column("parent_id", _ID),
            Column("taxonomy", _text(64), default="hotline-vn"),
            Column("language", _text(8), default="vi"),
            Column("topics", _topics, default=[]),
        ),
    ),
    TableSpec(
        "organizations.csv",
        Organization,
        (
            Column("id", _ID, True),
            Column("name", _NAME, True),
            Column("alternate_name", _NAME),
            Column("description", _LONG),
            Column("email", _NAME),
            Column("website", _text(512)),
            Column("source", _LONG, True),
            Column("verification", _VERIFICATION, True),
            Column("verification_note", _LONG),
            Column("verified_on", _date),
        ),
    ),
    TableSpec(
        "locations.csv",
        Location,
        (
            Column("id", _ID, True),
            Column("organization_id", _ID),
            Column("name", _NAME),
            Column("description", _LONG),
            Column("location_type", _choice(LOCATION_TYPES), default="physical"),
            Column("latitude", _real(-90, 90)),
            Column("longitude", _real(-180, 180)),
            Column("province", _text(128)),
            Column("commune", _text(128)),
            Column("source", _LONG, True),
            Column("verification", _VERIFICATION, True),
        ),
    ),
    TableSpec(
        "addresses.csv",
        Address,
        (
            Column("id", _ID, True),
            Column("location_id", _ID, True),
            Column("address_1", _NAME, True),
            Column("address_2", _NAME),
            Column("city", _text(128)),
            Column("region", _text(128)),
            Column("state_province", _text(128)),
            Column("postal_code", _text(16)),
            Column("country", _text(2), default="VN"),
            Column("address_type", _choice(LOCATION_TYPES), default="physical"),
        ),
    ),
    TableSpec(
        "services.csv",
        Service,
        (
            Column("id", _ID, True),
            Column("organization_id", _ID, True),
            Column("name", _NAME, True),
            Column("alternate_name", _NAME),
            Column("description", _LONG),
            Column("url", _text(512)),
            Column("email", _NAME),
            Column("status", _choice(SERVICE_STATUSES), True),
            Column("eligibility_description", _LONG),
            Column("minimum_age", _integer(0, 120)),
            Column("maximum_age", _integer(0, 120)),
            Column("fees_description", _LONG),
            Column("source", _LONG, True),
            Column("verification", _VERIFICATION, True),
            Column("verification_note", _LONG),
            Column("verified_on", _date),
        ),
    ),
    TableSpec(
        "service_at_locations.csv",
        ServiceAtLocation,
        (
            Column("id", _ID, True),
            Column("service_id", _ID, True),
            Column("location_id", _ID, True),
            Column("description", _LONG),
        ),
    ),
    TableSpec(
        "phones.csv",
        Phone,
        (
            Column("id", _ID, True),
            Column("service_id", _ID),
            Column("organization_id", _ID),
            Column("location_id", _ID),
            Column("number", _text(32), True),
            Column("extension", _text(16)),
            Column("type", _choice(PHONE_TYPES), True),
            Column("description", _LONG),
            Column("source", _LONG, True),
            Column("verification", _VERIFICATION, True),
            Column("last_verified", _date),
        ),
    ),
    TableSpec(
        "schedules.csv",
        Schedule,
        (
            Column("id", _ID, True),
            Column("service_id", _ID),
            Column("location_id", _ID),
            Column("service_at_location_id", _ID),
            Column("freq", _choice(("WEEKLY",)), default="WEEKLY"),
            Column("byday", _byday),
            Column("opens_at", _time),
            Column("closes_at", _time),
            Column("valid_from", _date),
            Column("valid_to", _date),
            Column("open_24_7", _boolean, default=False),
            Column("description", _LONG),
        ),
    ),
    TableSpec(
        "attributes.csv",
        Attribute,
        (
            Column("id", _ID, True),
            Column("link_id", _ID, True),
            Column("link_type", _choice(("service",)), default="service"),
            Column("taxonomy_term_id", _ID, True),
            Column("value", _NAME),
            Column("label", _NAME),
        ),
    ),
    TableSpec(
        "service_areas.csv",
        ServiceArea,
        (
            Column("id", _ID, True),
            Column("service_id", _ID, True),
            Column("name", _NAME),
            Column("description", _LONG),
            Column("scope", _choice(AREA_SCOPES), True),
            Column("province", _text(128)),
            Column("commune", _text(128)),
        ),
    ),
)
SPEC_BY_FILE = {spec.file: spec for spec in SPECS}


# ---------------------------------------------------------------- reading


@dataclass
class ParsedRow:
    """A row that passed its column checks, with the line it came from."""

    line: int
    values: dict[str, Any]


@dataclass
class ImportReport:
    """What an import wrote, and what it left aside (unknown files and columns)."""

    mode: str
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _read_sources(path: Path) -> tuple[dict[str, bytes], list[RowProblem], list[str]]:
    """The bytes of each known CSV in a folder or zip, problems, and notes on skipped files."""
    problems: list[RowProblem] = []
    notes: list[str] = []
    files: dict[str, bytes] = {}
    if not path.exists():
        raise DirectoryError(
            f"Không tìm thấy '{path}'. Hãy chỉ đến một thư mục hoặc tệp .zip chứa các tệp CSV."
        )
    if path.is_dir():
        entries = [(child.name, child) for child in sorted(path.iterdir()) if child.is_file()]
        for name, child in entries:
            if name in SPEC_BY_FILE:
                if child.stat().st_size > MAX_FILE_BYTES:
                    problems.append(
                        RowProblem(name, 1, f"tệp lớn hơn {MAX_FILE_BYTES // 2**20} MB")
                    )
                else:
                    files[name] = child.read_bytes()
            elif name.endswith(".csv"):
                notes.append(f"Bỏ qua {name}: không phải tệp HSDS được hỗ trợ.")
    elif zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    name = Path(info.filename).name
                    if info.is_dir() or not name:
                        continue
                    if name not in SPEC_BY_FILE:
                        if name.endswith(".csv"):
                            notes.append(f"Bỏ qua {name}: không phải tệp HSDS được hỗ trợ.")
                        continue
                    if info.file_size > MAX_FILE_BYTES:
                        problems.append(
                            RowProblem(name, 1, f"tệp lớn hơn {MAX_FILE_BYTES // 2**20} MB")
                        )
                        continue
                    files[name] = archive.read(info)
        except (zipfile.BadZipFile, OSError, RuntimeError) as error:
            raise DirectoryError(
                f"Tệp zip '{path.name}' bị hỏng hoặc không đọc được ({error})."
            ) from None
    elif path.suffix.lower() == ".csv" and path.name in SPEC_BY_FILE:
        files[path.name] = path.read_bytes()
    else:
        raise DirectoryError(
            f"'{path.name}' không phải thư mục, tệp .zip hay một tệp CSV HSDS "
            f"({', '.join(SPEC_BY_FILE)})."
        )
    if not files and not problems:
        raise DirectoryError(
            f"Không có tệp HSDS nào trong '{path.name}'. Tên tệp cần là: {', '.join(SPEC_BY_FILE)}."
        )
    return files, problems, notes


def _parse_file(
    spec: TableSpec, data: bytes, problems: list[RowProblem], notes: list[str]
) -> list[ParsedRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.append(RowProblem(spec.file, line, "tệp không phải văn bản UTF-8"))
        return []
    if "\x00" in text:
        problems.append(
            RowProblem(
                spec.file,
                text[: text.index("\x00")].count("\n") + 1,
                "tệp có ký tự NUL, không phải CSV",
            )
        )
        return []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        problems.append(RowProblem(spec.file, 1, "tệp trống, thiếu dòng tiêu đề"))
        return []
    except csv.Error as error:
        problems.append(RowProblem(spec.file, 1, f"dòng tiêu đề không đọc được ({error})"))
        return []
    missing = sorted(spec.required_headers - set(header))
    if missing:
        problems.append(RowProblem(spec.file, 1, f"thiếu cột bắt buộc: {', '.join(missing)}"))
        return []
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        problems.append(RowProblem(spec.file, 1, f"cột bị lặp: {', '.join(duplicated)}"))
        return []
    known = {column.name for column in spec.columns}
    extra = [name for name in header if name not in known]
    if extra:
        notes.append(f"{spec.file}: bỏ qua các cột không dùng: {', '.join(extra)}.")

    rows: list[ParsedRow] = []
    previous_end = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(
                RowProblem(spec.file, previous_end + 1, f"dòng CSV không đọc được ({error})")
            )
            break
        line = previous_end + 1
        previous_end = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            problems.append(
                RowProblem(
                    spec.file, line, f"có {len(cells)} ô nhưng tiêu đề chỉ có {len(header)} cột"
                )
            )
            continue
        raw = dict(zip(header, cells, strict=False))
        rows.append(ParsedRow(line, _parse_cells(spec, raw, line, problems)))
    return rows


def _parse_cells(
    spec: TableSpec, raw: dict[str, str], line: int, problems: list[RowProblem]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in spec.columns:
        cell = (raw.get(column.name) or "").strip()
        if not cell:
            if column.required:
                problems.append(
                    RowProblem(spec.file, line, f"cột '{column.name}' không được để trống")
                )
            values[column.name] = column.default
            continue
        try:
            values[column.name] = column.parse(cell)
        except _Bad as error:
            problems.append(RowProblem(spec.file, line, f"cột '{column.name}': {error}"))
            values[column.name] = column.default
    return values


# ---------------------------------------------------------------- cross-row checks


class _Checker:
    """Checks references between files and against the database; resolves place names."""

    def __init__(self, session: Session, tables: dict[str, list[ParsedRow]], mode: str) -> None:
        self.session = session
        self.tables = tables
        self.mode = mode
        self.problems: list[RowProblem] = []
        self.index: PlaceIndex = get_place_index(session)
        self.province_by_name: dict[str, str] = {}
        for code, (name, _key) in self.index.provinces.items():
            self.province_by_name[fold(name)] = code
        short_names = session.execute(select(Province.code, Province.short_name)).all()
        for code, short in short_names:
            self.province_by_name[fold(short)] = code

    def ids(self, file: str) -> set[str]:
        return {row.values["id"] for row in self.tables.get(file, []) if row.values.get("id")}

    def existing(self, model: Any, wanted: set[str]) -> set[str]:
        """Ids already in the database (none count in replace mode, except taxonomy terms)."""
        if not wanted or (self.mode == "replace" and model is not TaxonomyTerm):
            return set()
        found: set[str] = set()
        listed = sorted(wanted)
        for start in range(0, len(listed), 500):
            found.update(
                self.session.scalars(
                    select(model.id).where(model.id.in_(listed[start : start + 500]))
                )
            )
        return found

    def problem(self, file: str, line: int, reason: str) -> None:
        self.problems.append(RowProblem(file, line, reason))

    def unique_ids(self) -> None:
        for file, rows in self.tables.items():
            seen: dict[str, int] = {}
            for row in rows:
                row_id = row.values.get("id")
                if row_id in seen:
                    self.problem(file, row.line, f"mã '{row_id}' đã dùng ở dòng {seen[row_id]}")
                elif row_id:
                    seen[row_id] = row.line

    def references(
        self, file: str, column: str, target_file: str, model: Any, required: bool
    ) -> None:
        rows = self.tables.get(file, [])
        wanted = {row.values[column] for row in rows if row.values.get(column)}
        known = self.ids(target_file)
        known |= self.existing(model, wanted - known)
        for row in rows:
            value = row.values.get(column)
            if value is None:
                if required:
                    continue  # already reported as an empty required cell
            elif value not in known:
                self.problem(
                    file,
                    row.line,
                    f"cột '{column}': không có '{value}' trong {target_file} hay trong danh bạ",
                )

    def province(self, file: str, line: int, text: str | None) -> str | None:
        if not text:
            return None
        code = self.province_by_name.get(fold(text))
        if code is None:
            hint = ""
            former = self.index.old_province_by_name.get(fold(text))
            if former:
                hint = f"; đây là tên cũ, nay thuộc {self.index.provinces[former[0][1]][0]}"
            self.problem(
                file, line, f"tỉnh/thành '{text[:60]}' không có trong 34 tỉnh/thành hiện nay{hint}"
            )
        return code

    def commune(self, file: str, line: int, code: str | None, text: str | None) -> int | None:
        if not text or code is None:
            return None
        core = fold(text)
        for prefix in ("xa ", "phuong ", "dac khu ", "thi tran "):
            if core.startswith(prefix) and core[len(prefix) :] in self.index.commune_by_name:
                core = core[len(prefix) :]
                break
        found = [
            cid
            for cid in self.index.commune_by_name.get(core, [])
            if self.index.communes[cid][1] == code
        ]
        if len(found) > 1:
            exact = [
                cid for cid in found if accent_key(self.index.communes[cid][0]) == accent_key(text)
            ]
            exact = exact or [
                cid for cid in found if self.index.communes[cid][2] == accent_key(text)
            ]
            found = exact if len(exact) == 1 else found
        if len(found) == 1:
            return found[0]
        province = self.index.provinces[code][0]
        if found:
            names = ", ".join(self.index.communes[cid][0] for cid in found)
            self.problem(
                file,
                line,
                f"xã/phường '{text[:60]}' chưa rõ trong {province}: {names}; hãy ghi đủ dấu và tiền tố",
            )
        else:
            self.problem(
                file,
                line,
                f"xã/phường '{text[:60]}' không có trong {province} (tên hiện nay, sau 01/7/2025)",
            )
        return None


def _check(session: Session, tables: dict[str, list[ParsedRow]], mode: str) -> list[RowProblem]:
    checker = _Checker(session, tables, mode)
    checker.unique_ids()
    checker.references("services.csv", "organization_id", "organizations.csv", Organization, True)
    checker.references("locations.csv", "organization_id", "organizations.csv", Organization, False)
    checker.references("addresses.csv", "location_id", "locations.csv", Location, True)
    checker.references("service_at_locations.csv", "service_id", "services.csv", Service, True)
    checker.references("service_at_locations.csv", "location_id", "locations.csv", Location, True)
    for column, target, model in (
        ("service_id", "services.csv", Service),
        ("organization_id", "organizations.csv", Organization),
        ("location_id", "locations.csv", Location),
    ):
        checker.references("phones.csv", column, target, model, False)
    checker.references("schedules.csv", "service_id", "services.csv", Service, False)
    checker.references("schedules.csv", "location_id", "locations.csv", Location, False)
    checker.references(
        "schedules.csv",
        "service_at_location_id",
        "service_at_locations.csv",
        ServiceAtLocation,
        False,
    )
    checker.references("attributes.csv", "link_id", "services.csv", Service, True)
    checker.references(
        "attributes.csv", "taxonomy_term_id", "taxonomy_terms.csv", TaxonomyTerm, True
    )
    checker.references("taxonomy_terms.csv", "parent_id", "taxonomy_terms.csv", TaxonomyTerm, False)
    checker.references("service_areas.csv", "service_id", "services.csv", Service, True)

    for row in tables.get("services.csv", []):
        low, high = row.values.get("minimum_age"), row.values.get("maximum_age")
        if low is not None and high is not None and low > high:
            checker.problem(
                "services.csv", row.line, f"minimum_age {low} lớn hơn maximum_age {high}"
            )
    for row in tables.get("phones.csv", []):
        if not any(row.values.get(key) for key in ("service_id", "organization_id", "location_id")):
            checker.problem(
                "phones.csv",
                row.line,
                "số điện thoại phải gắn với service_id, organization_id hoặc location_id",
            )
    for row in tables.get("schedules.csv", []):
        values = row.values
        if not any(
            values.get(key) for key in ("service_id", "location_id", "service_at_location_id")
        ):
            checker.problem(
                "schedules.csv",
                row.line,
                "lịch phải gắn với service_id, location_id hoặc service_at_location_id",
            )
        if not values.get("open_24_7") and not (
            values.get("byday") and values.get("opens_at") and values.get("closes_at")
        ):
            checker.problem(
                "schedules.csv",
                row.line,
                "cần open_24_7=true, hoặc đủ byday, opens_at và closes_at",
            )
    for row in tables.get("locations.csv", []):
        code = checker.province("locations.csv", row.line, row.values.get("province"))
        row.values["province_code"] = code
        row.values["commune_id"] = checker.commune(
            "locations.csv", row.line, code, row.values.get("commune")
        )
        if row.values.get("commune") and not row.values.get("province"):
            checker.problem("locations.csv", row.line, "có 'commune' thì cần cả 'province'")
    for row in tables.get("service_areas.csv", []):
        _check_area(checker, row)
    _check_services_reachable(checker, tables)
    _check_unique_pairs(checker, tables)
    return checker.problems


def _check_unique_pairs(checker: _Checker, tables: dict[str, list[ParsedRow]]) -> None:
    """Term codes and (service, term) tags are unique: a clash would fail half-way through writing."""
    pairs = (
        ("taxonomy_terms.csv", ("code",), TaxonomyTerm, ("code",)),
        (
            "attributes.csv",
            ("link_id", "taxonomy_term_id"),
            Attribute,
            ("service_id", "taxonomy_term_id"),
        ),
        (
            "service_at_locations.csv",
            ("service_id", "location_id"),
            ServiceAtLocation,
            ("service_id", "location_id"),
        ),
    )
    for file, columns, model, fields in pairs:
        rows = tables.get(file, [])
        seen: dict[tuple[Any, ...], ParsedRow] = {}
        for row in rows:
            key = tuple(row.values.get(column) for column in columns)
            if None in key:
                continue
            if key in seen:
                checker.problem(
                    file, row.line, f"trùng {'/'.join(columns)} với dòng {seen[key].line}"
                )
            else:
                seen[key] = row
        if not seen or (checker.mode == "replace" and model is not TaxonomyTerm):
            continue
        first = getattr(model, fields[0])
        keys = sorted({key[0] for key in seen})
        for start in range(0, len(keys), 500):
            statement = select(model.id, *(getattr(model, name) for name in fields)).where(
                first.in_(keys[start : start + 500])
            )
            for existing_id, *existing_key in checker.session.execute(statement):
                clash = seen.get(tuple(existing_key))
                if clash is not None and clash.values.get("id") != existing_id:
                    checker.problem(
                        file,
                        clash.line,
                        f"{'/'.join(columns)} đã có trong danh bạ với mã '{existing_id}'",
                    )


def _check_area(checker: _Checker, row: ParsedRow) -> None:
    values, line = row.values, row.line
    scope = values.get("scope")
    code = checker.province("service_areas.csv", line, values.get("province"))
    commune_id = checker.commune("service_areas.csv", line, code, values.get("commune"))
    values["province_code"], values["commune_id"] = code, commune_id
    if scope == "national" and (values.get("province") or values.get("commune")):
        checker.problem("service_areas.csv", line, "phạm vi 'national' không ghi tỉnh hay xã")
    elif scope == "province" and (not values.get("province") or values.get("commune")):
        checker.problem(
            "service_areas.csv", line, "phạm vi 'province' cần 'province' và để trống 'commune'"
        )
    elif scope == "commune" and not (values.get("province") and values.get("commune")):
        checker.problem(
            "service_areas.csv", line, "phạm vi 'commune' cần cả 'province' và 'commune'"
        )


def _check_services_reachable(checker: _Checker, tables: dict[str, list[ParsedRow]]) -> None:
    """A service with no area or no taxonomy term could never be found: refuse it."""
    services = tables.get("services.csv", [])
    if not services:
        return
    with_area = {row.values.get("service_id") for row in tables.get("service_areas.csv", [])}
    with_term = {row.values.get("link_id") for row in tables.get("attributes.csv", [])}
    if checker.mode == "extend":
        ids = sorted(row.values["id"] for row in services if row.values.get("id"))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            with_area.update(
                checker.session.scalars(
                    select(ServiceArea.service_id).where(ServiceArea.service_id.in_(chunk))
                )
            )
            with_term.update(
                checker.session.scalars(
                    select(Attribute.service_id).where(Attribute.service_id.in_(chunk))
                )
            )
    for row in services:
        service_id = row.values.get("id")
        if service_id and service_id not in with_area:
            checker.problem(
                "services.csv",
                row.line,
                f"dịch vụ '{service_id}' không có vùng phục vụ nào trong service_areas.csv",
            )
        if service_id and service_id not in with_term:
            checker.problem(
                "services.csv",
                row.line,
                f"dịch vụ '{service_id}' không được gắn thuật ngữ nào trong attributes.csv",
            )


# ---------------------------------------------------------------- writing


def _record(spec: TableSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Column values of the table row for a parsed CSV row."""
    record = {
        key: value for key, value in values.items() if key not in ("province", "commune", "topics")
    }
    if spec.model is Attribute:
        record = {
            "id": values["id"],
            "service_id": values["link_id"],
            "taxonomy_term_id": values["taxonomy_term_id"],
            "value": values.get("value"),
            "label": values.get("label"),
        }
    elif spec.model is ServiceArea:
        record["province_code"] = values.get("province_code")
        record["commune_id"] = values.get("commune_id")
    if spec.model is Location:
        record["province_code"] = values.get("province_code")
        record["commune_id"] = values.get("commune_id")
    return record


def _write(session: Session, tables: dict[str, list[ParsedRow]], mode: str) -> dict[str, int]:
    if mode == "replace":
        for table_class in DIRECTORY_TABLES_CHILD_FIRST:
            session.execute(delete(table_class))
    connection = session.connection()
    counts: dict[str, int] = {}
    for spec in SPECS:
        rows = tables.get(spec.file, [])
        if not rows:
            continue
        records = [_record(spec, row.values) for row in rows]
        if spec.model is TaxonomyTerm:
            records = _parents_first(records)
        ids = {record["id"] for record in records}
        model = spec.model
        table: Any = model.__table__
        present: set[str] = set()
        listed = sorted(ids)
        for start in range(0, len(listed), 500):
            present.update(
                session.scalars(select(model.id).where(model.id.in_(listed[start : start + 500])))
            )
        new = [record for record in records if record["id"] not in present]
        old = [record for record in records if record["id"] in present]
        for start in range(0, len(new), 1000):
            connection.execute(insert(table), new[start : start + 1000])
        for record in old:
            connection.execute(update(table).where(table.c.id == record["id"]).values(**record))
        if model is TaxonomyTerm:
            _write_topics(session, rows)
        counts[spec.file] = len(records)
    session.expire_all()
    return counts


def _parents_first(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Terms ordered so a parent in the same file is inserted before its children."""
    in_file = {record["id"] for record in records}
    placed: set[str] = set()
    ordered: list[dict[str, Any]] = []
    pending = list(records)
    while pending:
        ready = [
            r for r in pending if r.get("parent_id") not in in_file or r["parent_id"] in placed
        ]
        if not ready:
            raise DirectoryError(
                "taxonomy_terms.csv: các thuật ngữ lấy nhau làm 'parent_id' thành vòng lặp."
            )
        for record in ready:
            ordered.append(record)
            placed.add(record["id"])
            pending.remove(record)
    return ordered


def _write_topics(session: Session, rows: list[ParsedRow]) -> None:
    for row in rows:
        term_id = row.values["id"]
        session.execute(
            delete(TaxonomyTermTopic).where(TaxonomyTermTopic.taxonomy_term_id == term_id)
        )
        for topic in row.values.get("topics") or []:
            session.execute(insert(TaxonomyTermTopic).values(taxonomy_term_id=term_id, topic=topic))


def import_directory(session: Session, path: Path, mode: str = "extend") -> ImportReport:
    """Check every row of the HSDS files at `path`, then write them all or nothing.

    Raises `ImportRejectedError` (with every bad row) when anything is wrong; the database
    is then untouched. The caller commits the session.
    """
    if mode not in MODES:
        raise DirectoryError(f"Chế độ nhập '{mode}' không hợp lệ; chọn 'extend' hoặc 'replace'.")
    files, problems, notes = _read_sources(Path(path))
    tables: dict[str, list[ParsedRow]] = {}
    for spec in SPECS:
        if spec.file in files:
            tables[spec.file] = _parse_file(spec, files[spec.file], problems, notes)
    problems.extend(_check(session, tables, mode))
    if problems:
        problems.sort(key=lambda problem: (problem.file, problem.line))
        raise ImportRejectedError(problems)
    try:
        with session.begin_nested():
            counts = _write(session, tables, mode)
            if session.get_bind().dialect.name == "postgresql":
                # Fresh statistics, or the planner keeps costing the tables as they were.
                for model in DIRECTORY_TABLES_CHILD_FIRST:
                    session.execute(text(f"ANALYZE {model.__tablename__}"))
    except SQLAlchemyError as error:
        raise DirectoryError(
            f"Không ghi được danh bạ ({error.__class__.__name__}); chưa có gì thay đổi."
        ) from error
    log.info("directory import (%s): %s", mode, counts)
    return ImportReport(mode, counts, notes)


# ---------------------------------------------------------------- export


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _export_rows(session: Session, spec: TableSpec) -> list[list[str]]:
    names = [column.name for column in spec.columns]
    provinces = dict(session.execute(select(Province.code, Province.name)).all())
    communes = dict(session.execute(select(Commune.id, Commune.name)).all())
    topics: dict[str, list[str]] = defaultdict(list)
    if spec.model is TaxonomyTerm:
        for term_id, topic in session.execute(
            select(TaxonomyTermTopic.taxonomy_term_id, TaxonomyTermTopic.topic).order_by(
                TaxonomyTermTopic.topic
            )
        ):
            topics[term_id].append(topic)
    rows = []
    for record in session.scalars(select(spec.model).order_by(spec.model.id)):
        values = {name: getattr(record, name, None) for name in names}
        if spec.model is Attribute:
            values.update(link_id=record.service_id, link_type="service")
        if spec.model in (Location, ServiceArea):
            values["province"] = (
                provinces.get(record.province_code) if record.province_code else None
            )
            values["commune"] = communes.get(record.commune_id) if record.commune_id else None
        if spec.model is TaxonomyTerm:
            values["topics"] = ",".join(topics.get(record.id, []))
        rows.append([_cell(values[name]) for name in names])
    return rows


def export_directory(session: Session, path: Path) -> dict[str, int]:
    """Write the directory as HSDS CSV files: a zip when `path` ends in .zip, else a folder."""
    path = Path(path)
    outputs: dict[str, str] = {}
    counts: dict[str, int] = {}
    for spec in SPECS:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([column.name for column in spec.columns])
        rows = _export_rows(session, spec)
        writer.writerows(rows)
        outputs[spec.file] = buffer.getvalue()
        counts[spec.file] = len(rows)
    try:
        if path.suffix.lower() == ".zip":
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, content in outputs.items():
                    archive.writestr(name, content.encode("utf-8"))
        else:
            path.mkdir(parents=True, exist_ok=True)
            for name, content in outputs.items():
                (path / name).write_text(content, encoding="utf-8", newline="")
    except OSError as error:
        raise DirectoryError(f"Không ghi được '{path}': {error.strerror or error}.") from None
    return counts
