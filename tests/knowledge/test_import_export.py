"""Import and export in HSDS tabular form: every row checked first, all or nothing."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.errors import DirectoryError, ImportRejectedError
from knowledge.hsds_io import SPECS, export_directory, import_directory
from knowledge.models import Phone, Service, TaxonomyTerm
from knowledge.search import search_services

HEADERS = {spec.file: [column.name for column in spec.columns] for spec in SPECS}


def _write(folder: Path, file: str, rows: list[dict[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / file).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADERS[file])
        writer.writeheader()
        writer.writerows(rows)


def _new_service(folder: Path, *, minimum_age: str = "", province: str = "Đồng Tháp") -> Path:
    """A complete small import: one organization, one service in a province, one phone."""
    _write(
        folder,
        "organizations.csv",
        [
            {
                "id": "org-new",
                "name": "Nhóm tham vấn mới",
                "source": "https://example.org/a",
                "verification": "verified",
            },
        ],
    )
    _write(
        folder,
        "services.csv",
        [
            {
                "id": "svc-new",
                "organization_id": "org-new",
                "name": "Tham vấn cho thanh thiếu niên",
                "status": "active",
                "minimum_age": minimum_age,
                "source": "https://example.org/a",
                "verification": "verified",
            },
        ],
    )
    _write(
        folder,
        "service_areas.csv",
        [
            {
                "id": "svc-new:area",
                "service_id": "svc-new",
                "scope": "province",
                "province": province,
            },
        ],
    )
    _write(
        folder,
        "attributes.csv",
        [
            {
                "id": "svc-new:tv",
                "link_id": "svc-new",
                "link_type": "service",
                "taxonomy_term_id": "tham-van-tam-ly",
            },
        ],
    )
    _write(
        folder,
        "phones.csv",
        [
            {
                "id": "svc-new:p",
                "service_id": "svc-new",
                "number": "0277 000 000",
                "type": "voice",
                "source": "gọi thử 2025-11-20",
                "verification": "unverified",
            },
        ],
    )
    return folder


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_an_import_adds_services_that_a_search_then_finds(session: Session, tmp_path: Path) -> None:
    report = import_directory(session, _new_service(tmp_path / "in"))
    assert report.counts["services.csv"] == 1
    names = [m.name for m in search_services(session, "emotional_support", "Đồng Tháp")]
    assert "Tham vấn cho thanh thiếu niên" in names


def test_one_bad_row_reports_file_line_and_reason_and_writes_nothing(
    session: Session, tmp_path: Path
) -> None:
    folder = _new_service(tmp_path / "in", minimum_age="mười lăm")
    services, phones = _count(session, Service), _count(session, Phone)
    with pytest.raises(ImportRejectedError) as error:
        import_directory(session, folder)
    problem = error.value.problems[0]
    assert (problem.file, problem.line) == ("services.csv", 2)
    assert problem.reason == "cột 'minimum_age': 'mười lăm' không phải số nguyên"
    assert "services.csv:2: cột 'minimum_age'" in str(error.value)
    assert "chưa ghi gì vào danh bạ" in str(error.value)
    assert (_count(session, Service), _count(session, Phone)) == (services, phones)


def test_every_bad_row_is_listed_not_only_the_first(session: Session, tmp_path: Path) -> None:
    folder = _new_service(tmp_path / "in", province="Tiền Giang")
    _write(
        folder,
        "phones.csv",
        [
            {
                "id": "p1",
                "service_id": "svc-new",
                "number": "1",
                "type": "pager",
                "source": "x",
                "verification": "unverified",
            },
            {
                "id": "p2",
                "service_id": "svc-khong-co",
                "number": "2",
                "type": "voice",
                "source": "x",
                "verification": "maybe",
            },
        ],
    )
    with pytest.raises(ImportRejectedError) as error:
        import_directory(session, folder)
    found = {(p.file, p.line) for p in error.value.problems}
    assert {("phones.csv", 2), ("phones.csv", 3), ("service_areas.csv", 2)} <= found
    reasons = " | ".join(p.reason for p in error.value.problems)
    assert (
        "'Tiền Giang' không có trong 34 tỉnh/thành hiện nay; đây là tên cũ, nay thuộc Tỉnh Đồng Tháp"
        in reasons
    )
    assert "không có 'svc-khong-co'" in reasons


def test_a_service_that_could_never_be_found_is_refused(session: Session, tmp_path: Path) -> None:
    folder = _new_service(tmp_path / "in")
    (folder / "service_areas.csv").unlink()
    with pytest.raises(ImportRejectedError, match="không có vùng phục vụ nào"):
        import_directory(session, folder)


def test_export_then_replace_gives_back_the_same_directory(
    session: Session, tmp_path: Path
) -> None:
    before = [m.name for m in search_services(session, "child_protection", "xã Mỹ Hiệp, Đồng Tháp")]
    services = _count(session, Service)
    counts = export_directory(session, tmp_path / "directory.zip")
    assert counts["services.csv"] == services
    with zipfile.ZipFile(tmp_path / "directory.zip") as archive:
        assert {spec.file for spec in SPECS} == set(archive.namelist())
    import_directory(session, tmp_path / "directory.zip", mode="replace")
    assert _count(session, Service) == services
    assert [
        m.name for m in search_services(session, "child_protection", "xã Mỹ Hiệp, Đồng Tháp")
    ] == before


def test_replace_removes_what_the_file_does_not_have(session: Session, tmp_path: Path) -> None:
    import_directory(session, _new_service(tmp_path / "in"), mode="replace")
    assert _count(session, Service) == 1
    assert [m.name for m in search_services(session, "emotional_support", "Đồng Tháp")] == [
        "Tham vấn cho thanh thiếu niên"
    ]


def test_extend_updates_a_record_with_the_same_id(session: Session, tmp_path: Path) -> None:
    export_directory(session, tmp_path / "out")
    rows = list(csv.DictReader((tmp_path / "out" / "phones.csv").open(encoding="utf-8")))
    line_111 = next(row for row in rows if row["number"] == "111")
    line_111["last_verified"] = "2025-11-20"
    _write(tmp_path / "in", "phones.csv", [line_111])
    import_directory(session, tmp_path / "in")
    assert (
        str(session.scalar(select(Phone.last_verified).where(Phone.number == "111")))
        == "2025-11-20"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"id,name\n", "thiếu cột bắt buộc: source, verification"),
        (
            "id,name,source,verification\nx,Tên,s,verified,thừa\n".encode(),
            "có 5 ô nhưng tiêu đề chỉ có 4 cột",
        ),
        (b"id,name,source,verification\nx,\xff\xfe,s,verified\n", "tệp không phải văn bản UTF-8"),
        (b"", "tệp trống, thiếu dòng tiêu đề"),
        (b"id,name,source,verification\nx,T\x00n,s,verified\n", "tệp có ký tự NUL, không phải CSV"),
    ],
)
def test_a_malformed_file_gets_a_clear_reason(
    session: Session, tmp_path: Path, content: bytes, reason: str
) -> None:
    (tmp_path / "organizations.csv").write_bytes(content)
    with pytest.raises(ImportRejectedError) as error:
        import_directory(session, tmp_path)
    assert [(p.file, p.reason) for p in error.value.problems] == [("organizations.csv", reason)]


@pytest.mark.parametrize("name", ["broken.zip", "notes.txt", "missing-folder"])
def test_something_that_is_not_a_directory_export_is_refused(
    session: Session, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    if name == "broken.zip":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif name == "notes.txt":
        path.write_text("xin chào", encoding="utf-8")
    with pytest.raises(DirectoryError):
        import_directory(session, path)


def test_a_failure_while_writing_leaves_the_directory_as_it_was(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    import knowledge.hsds_io as hsds_io

    folder = _new_service(tmp_path / "in")
    _write(
        folder,
        "taxonomy_terms.csv",
        [
            {
                "id": "tu-van-moi",
                "code": "tu-van-moi",
                "name": "Tư vấn mới",
                "topics": "emotional_support",
            },
        ],
    )

    def broken(*_args: object) -> None:
        raise OperationalError("INSERT", {}, Exception("disk full"))

    # The new term is already inserted when writing its topics fails.
    monkeypatch.setattr(hsds_io, "_write_topics", broken)
    services = _count(session, Service)
    with pytest.raises(DirectoryError, match="chưa có gì thay đổi"):
        import_directory(session, folder)
    assert _count(session, Service) == services
    assert session.get(TaxonomyTerm, "tu-van-moi") is None
