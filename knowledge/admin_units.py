"""Loads Vietnam's administrative units (after 1 July 2025) and their former names.

The reference is the mapping shipped with `underthesea.address` (read from the installed
package, never copied here): 34 provinces, 63 former provinces and 10,602 records that take
a former province/district/commune to the current province/commune. From it we build:
- `province` (34 rows) and `commune` (3,321 rows),
- `place_alias`: former provinces, former districts (one row per commune they became),
  former communes, and the common names of `knowledge/data/place_aliases.yml`.

Usage:
    load_admin_units(session)   # into empty tables, inside the caller's transaction
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from knowledge.folding import accent_key, fold, split_official_name
from knowledge.models import Commune, PlaceAlias, Province

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
COMMON_NAMES_FILE = DATA_DIR / "place_aliases.yml"

_UNIT_TYPES = {"xã": "xã", "phường": "phường", "đặc khu": "đặc khu", "thị trấn": "thị trấn"}


class AdminDataError(RuntimeError):
    """The reference data of administrative units is missing or not what we expect."""


def read_reference_mapping() -> dict[str, Any]:
    """The mapping of `underthesea.address`, read from the installed package."""
    try:
        resource = resources.files("underthesea.address").joinpath("data/mapping.json")
        with resource.open("r", encoding="utf-8") as handle:
            data = json.load(handle)
    except (ModuleNotFoundError, FileNotFoundError, json.JSONDecodeError) as error:
        raise AdminDataError(
            "Không đọc được dữ liệu đơn vị hành chính của underthesea (underthesea.address)."
        ) from error
    for field in ("province_mapping", "province_names", "old_province_names", "ward_mapping"):
        if field not in data:
            raise AdminDataError(f"Dữ liệu đơn vị hành chính thiếu mục '{field}'.")
    return data


@dataclass(frozen=True)
class CommuneRecord:
    """A current commune as read from the reference."""

    province_key: str
    key: str
    name: str


def _syllables(data: dict[str, Any]) -> frozenset[str]:
    """Every lower-case syllable of every unit name in the reference."""
    words: set[str] = set()
    for record in data["ward_mapping"]:
        for field in ("old_ward", "old_district", "new_ward"):
            words.update(accent_key(record[field]).split())
    return frozenset(words)


def _name_from_key(key: str, syllables: frozenset[str]) -> str | None:
    """Rebuild `"Xã Tân Thạnh"` from the key `"xãtânthạnh"` by splitting it into known syllables.

    A few units of the reference lack a display name (pairs whose names differ only by a
    tone mark); their key still spells the name with its diacritics, without spaces.
    """
    prefixes = {"xã": "Xã", "phường": "Phường", "đặckhu": "Đặc khu"}
    prefix = next((start for start in prefixes if key.startswith(start)), None)
    if prefix is None:
        return None
    label, rest = prefixes[prefix], key[len(prefix) :]
    # best[i]: the fewest syllables that spell rest[:i]
    best: list[list[str] | None] = [None] * (len(rest) + 1)
    best[0] = []
    for end in range(1, len(rest) + 1):
        for start in range(max(0, end - 8), end):
            head = best[start]
            if head is not None and rest[start:end] in syllables:
                candidate = [*head, rest[start:end]]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    words = best[len(rest)]
    if not words:
        return None
    return " ".join([label, *(word.capitalize() for word in words)])


def current_communes(data: dict[str, Any]) -> list[CommuneRecord]:
    """The current communes of the reference, names filled in where the reference lacks them."""
    names: dict[tuple[str, str], str] = {}
    for record in data["ward_mapping"]:
        unit = (record["new_province_key"], record["new_ward_key"])
        if record["new_ward"] or unit not in names:
            names[unit] = record["new_ward"] or names.get(unit, "")
    syllables = None
    communes = []
    for (province_key, key), name in sorted(names.items()):
        if not name:
            syllables = syllables or _syllables(data)
            name = _name_from_key(key, syllables) or ""
        if not name:
            raise AdminDataError(f"Không dựng lại được tên đơn vị hành chính '{key}'.")
        communes.append(CommuneRecord(province_key, key, name))
    return communes


def insert_rows(
    session: Session, model: type, rows: list[dict[str, Any]], chunk: int = 2000
) -> None:
    """Insert many rows with one executemany per chunk.

    Core, not the ORM: the ORM splits rows by which values are None, which on PostgreSQL
    turns 14,000 alias rows into thousands of round trips.
    """
    connection = session.connection()
    table = model.__table__  # type: ignore[attr-defined]
    for start in range(0, len(rows), chunk):
        connection.execute(insert(table), rows[start : start + chunk])


def _unit_type(name: str) -> str:
    prefix, _ = split_official_name(name)
    return _UNIT_TYPES.get(prefix, prefix or "xã")


def _core_fold(name: str) -> str:
    """Folded name without its unit prefix: `"Thị xã Phước Long"` → `"phuoc long"`."""
    return fold(split_official_name(name)[1])


@cache
def _common_names_file() -> list[dict[str, Any]]:
    with COMMON_NAMES_FILE.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict) or document.get("version") != 1:
        raise AdminDataError(f"{COMMON_NAMES_FILE.name}: cần 'version: 1' và danh sách 'aliases'.")
    entries = document.get("aliases")
    if not isinstance(entries, list):
        raise AdminDataError(f"{COMMON_NAMES_FILE.name}: cần 'version: 1' và danh sách 'aliases'.")
    return entries


def load_admin_units(session: Session, data: dict[str, Any] | None = None) -> dict[str, int]:
    """Insert provinces, communes and aliases into empty tables; returns the row counts."""
    if session.scalar(select(func.count()).select_from(Province)):
        raise AdminDataError("Bảng tỉnh/thành đã có dữ liệu; không nạp lại.")
    data = data or read_reference_mapping()

    province_code = {key: info["code"] for key, info in data["province_names"].items()}
    insert_rows(
        session,
        Province,
        [
            {
                "code": info["code"],
                "key": key,
                "name": info["name"],
                "short_name": info["short"],
                "folded_name": fold(info["short"]),
            }
            for key, info in data["province_names"].items()
        ],
    )

    commune_ids: dict[tuple[str, str], int] = {}
    rows = []
    for number, record in enumerate(current_communes(data), start=1):
        commune_ids[(record.province_key, record.key)] = number
        rows.append(
            {
                "id": number,
                "province_code": province_code[record.province_key],
                "key": record.key,
                "name": record.name,
                "unit_type": _unit_type(record.name),
                "folded_name": _core_fold(record.name),
            }
        )
    insert_rows(session, Commune, rows)

    aliases = _alias_rows(data, province_code, commune_ids)
    insert_rows(session, PlaceAlias, aliases)
    session.flush()
    counts = {"provinces": len(province_code), "communes": len(rows), "aliases": len(aliases)}
    log.info("administrative units loaded: %s", counts)
    return counts


def _alias_rows(
    data: dict[str, Any],
    province_code: dict[str, str],
    commune_ids: dict[tuple[str, str], int],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    current_keys = set(data["province_names"])
    for old_key, info in data["old_province_names"].items():
        if old_key in current_keys:
            continue
        rows.append(
            {
                "kind": "old_province",
                "name": info["name"],
                "folded_name": fold(info["short"]),
                "old_province_key": old_key,
                "province_code": province_code[data["province_mapping"][old_key]],
                "commune_id": None,
                "mapping_type": "merged",
                "is_default": False,
            }
        )

    districts_seen: set[tuple[str, str, int]] = set()
    for record in data["ward_mapping"]:
        commune_id = commune_ids[(record["new_province_key"], record["new_ward_key"])]
        code = province_code[record["new_province_key"]]
        district_fold = _core_fold(record["old_district"]) if record["old_district"] else None
        district = (record["old_province_key"], record["old_district_key"], commune_id)
        if district_fold and district not in districts_seen:
            districts_seen.add(district)
            rows.append(
                {
                    "kind": "old_district",
                    "name": record["old_district"],
                    "folded_name": district_fold,
                    "old_province_key": record["old_province_key"],
                    "province_code": code,
                    "commune_id": commune_id,
                    "mapping_type": record["mapping_type"],
                    "is_default": False,
                }
            )
        if record["old_ward"]:
            rows.append(
                {
                    "kind": "old_commune",
                    "name": record["old_ward"],
                    "folded_name": _core_fold(record["old_ward"]),
                    "old_province_key": record["old_province_key"],
                    "old_district_folded": district_fold,
                    "old_district_name": record["old_district"] or None,
                    "province_code": code,
                    "commune_id": commune_id,
                    "mapping_type": record["mapping_type"],
                    "is_default": bool(record.get("is_default", False)),
                }
            )

    folded_provinces = {
        fold(info["name"]): info["code"] for info in data["province_names"].values()
    }
    folded_provinces.update(
        {fold(info["short"]): info["code"] for info in data["province_names"].values()}
    )
    for entry in _common_names_file():
        common_code = folded_provinces.get(fold(str(entry.get("province", ""))))
        if common_code is None:
            raise AdminDataError(
                f"{COMMON_NAMES_FILE.name}: không có tỉnh/thành '{entry.get('province')}'."
            )
        for name in entry.get("names", []):
            rows.append(
                {
                    "kind": "common_name",
                    "name": str(name),
                    "folded_name": fold(str(name)),
                    "old_province_key": None,
                    "province_code": common_code,
                    "commune_id": None,
                    "mapping_type": None,
                    "is_default": False,
                }
            )
    # executemany needs every row to carry the same keys
    for row in rows:
        row.setdefault("old_district_folded", None)
        row.setdefault("old_district_name", None)
    return rows
