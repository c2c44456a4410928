"""`hotline directory ...`: search, resolve places, import, export and seed the directory.

Usage:
    hotline directory seed
    hotline directory search --topic child_protection --location "xa My Hiep, Dong Thap" --age 14 --json
    hotline directory resolve "thị xã Phước Long, Bình Phước" --json
    hotline directory import directory.zip [--replace]
    hotline directory export backup.zip
    python -m knowledge.cli ...      # the same, before the root command mounts it

Bad input ends with a Vietnamese message on stderr and exit code 2; a refused import lists
every bad row and exits with 1. No traceback reaches the person at the keyboard.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hotline.db import make_engine, make_session_factory, upgrade_database
from hotline.settings import get_settings
from knowledge.errors import DirectoryError, DirectoryNotReadyError, ImportRejectedError
from knowledge.hsds_io import export_directory, import_directory
from knowledge.models import Province
from knowledge.places import resolve_place
from knowledge.search import DEFAULT_LIMIT, search_directory
from knowledge.seed import ensure_seeded

log = logging.getLogger(__name__)

directory_app = typer.Typer(
    help="Danh bạ dịch vụ: tìm kiếm, xác định địa bàn, nhập/xuất dữ liệu HSDS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

NOT_READY = (
    "Cơ sở dữ liệu chưa có danh bạ. Hãy chạy 'hotline db upgrade' rồi 'hotline directory seed'."
)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _print_json(document: Any) -> None:
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2))


@contextmanager
def _session(*, write: bool = False) -> Iterator[Session]:
    """A session on DATABASE_URL; database trouble becomes a message, never a traceback."""
    engine = make_engine(get_settings().database_url)
    try:
        if not inspect(engine).has_table(Province.__tablename__):
            raise DirectoryNotReadyError(NOT_READY)
        factory = make_session_factory(engine)
        with factory() as session, session.begin() if write else nullcontext():
            if not session.scalar(select(func.count()).select_from(Province)):
                raise DirectoryNotReadyError(NOT_READY)
            yield session
    except ImportRejectedError as error:
        _fail(str(error), 1)
    except DirectoryError as error:
        _fail(str(error))
    except SQLAlchemyError as error:
        log.debug("database error", exc_info=True)
        _fail(f"Lỗi cơ sở dữ liệu ({error.__class__.__name__}). {NOT_READY}", 1)
    finally:
        engine.dispose()


@directory_app.callback()
def _directory() -> None:
    """Danh bạ dịch vụ hỗ trợ."""


@directory_app.command("search")
def search(
    topic: Annotated[str, typer.Option("--topic", help="chủ đề hỗ trợ, ví dụ child_protection")],
    location: Annotated[
        str | None, typer.Option("--location", help="nơi người cần hỗ trợ đang ở")
    ] = None,
    age: Annotated[int | None, typer.Option("--age", help="tuổi của người cần hỗ trợ")] = None,
    limit: Annotated[int, typer.Option("--limit", help="số kết quả tối đa")] = DEFAULT_LIMIT,
    as_json: Annotated[bool, typer.Option("--json", help="in kết quả dạng JSON")] = False,
) -> None:
    """Tìm dịch vụ theo chủ đề, địa bàn và tuổi."""
    with _session() as session:
        result = search_directory(session, topic, location, age=age, limit=limit)
    place = result.location
    document = {
        "location": {
            "province": place.province if place else None,
            "commune": place.commune if place else None,
            "candidates": [candidate.to_dict() for candidate in place.candidates] if place else [],
        },
        "services": [match.to_dict() for match in result.services],
    }
    if as_json:
        _print_json(document)
        return
    if place is not None:
        typer.echo(f"Địa bàn: {place.why}")
    if not result.services:
        typer.echo("Chưa tìm thấy dịch vụ nào cho chủ đề này.")
    for number, match in enumerate(result.services, start=1):
        phones = ", ".join(phone.number for phone in match.phones) or "chưa có số điện thoại"
        typer.echo(f"{number}. {match.name} ({match.organization}) - {phones}")
        typer.echo(f"   {match.reason}")


@directory_app.command("resolve")
def resolve(
    text: Annotated[str, typer.Argument(help="địa chỉ hay tên địa phương")],
    as_json: Annotated[bool, typer.Option("--json", help="in kết quả dạng JSON")] = False,
) -> None:
    """Xác định tỉnh/thành và xã/phường hiện nay từ một địa chỉ (kể cả tên cũ)."""
    with _session() as session:
        place = resolve_place(session, text)
    if as_json:
        _print_json(place.to_dict())
        return
    typer.echo(place.why)
    for candidate in place.candidates:
        note = f" ({candidate.note})" if candidate.note else ""
        typer.echo(f"  - {candidate.commune}, {candidate.province}{note}")


@directory_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="thư mục hoặc tệp .zip chứa các tệp CSV HSDS")],
    replace: Annotated[
        bool, typer.Option("--replace", help="thay toàn bộ danh bạ thay vì bổ sung")
    ] = False,
) -> None:
    """Nhập danh bạ dạng HSDS (CSV); có một dòng sai thì không ghi gì."""
    with _session(write=True) as session:
        report = import_directory(session, path, mode="replace" if replace else "extend")
    for note in report.notes:
        typer.echo(note, err=True)
    written = ", ".join(f"{name}: {count}" for name, count in report.counts.items())
    typer.echo(f"Đã nhập ({'thay thế' if replace else 'bổ sung'}): {written}.")


@directory_app.command("export")
def export(
    path: Annotated[Path, typer.Argument(help="thư mục hoặc tệp .zip sẽ ghi ra")],
) -> None:
    """Xuất toàn bộ danh bạ dạng HSDS (CSV)."""
    with _session() as session:
        counts = export_directory(session, path)
    written = ", ".join(f"{name}: {count}" for name, count in counts.items())
    typer.echo(f"Đã xuất vào {path}: {written}.")


@directory_app.command("seed")
def seed() -> None:
    """Tạo bảng nếu chưa có và nạp dữ liệu mẫu vào danh bạ còn trống."""
    url = get_settings().database_url
    engine = make_engine(url)
    try:
        upgrade_database(url)
        report = ensure_seeded(make_session_factory(engine))
    except DirectoryError as error:
        _fail(str(error), 1)
    except SQLAlchemyError as error:
        _fail(f"Không nạp được dữ liệu mẫu: lỗi cơ sở dữ liệu ({error.__class__.__name__}).", 1)
    finally:
        engine.dispose()
    if report.loaded:
        loaded = ", ".join(f"{name}: {count}" for name, count in report.loaded.items())
        typer.echo(f"Đã nạp: {loaded}.")
    else:
        typer.echo("Danh bạ đã có dữ liệu; không nạp thêm.")


if __name__ == "__main__":
    directory_app()
