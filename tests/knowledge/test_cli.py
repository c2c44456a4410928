"""`hotline directory ...` as an operator uses it, on a temporary SQLite database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.settings import get_settings
from knowledge.cli import directory_app

runner = CliRunner()

SERVICE_KEYS = {
    "name",
    "organization",
    "phones",
    "address",
    "province",
    "commune",
    "topics",
    "open_now",
    "reason",
    "verified",
}


@pytest.fixture(scope="module")
def cli_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DATABASE_URL of a directory seeded through the command line, once for the module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'hotline.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        result = runner.invoke(directory_app, ["seed"])
        assert result.exit_code == 0, result.output
        assert "Đã nạp:" in result.stdout
        yield url
    get_settings.cache_clear()


@pytest.fixture
def cli(cli_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", cli_database)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_search_prints_the_documented_json(cli: None) -> None:
    result = runner.invoke(
        directory_app,
        [
            "search",
            "--topic",
            "child_protection",
            "--location",
            "xa My Hiep, huyen Cao Lanh, Dong Thap",
            "--age",
            "14",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"location", "services"}
    assert document["location"] == {
        "province": "Tỉnh Đồng Tháp",
        "commune": "Xã Mỹ Hiệp",
        "candidates": [],
    }
    assert document["services"]
    for service in document["services"]:
        assert set(service) == SERVICE_KEYS
        assert isinstance(service["phones"], list)
        assert isinstance(service["verified"], bool)
        assert "child_protection" in service["topics"]
    numbers = [phone["number"] for service in document["services"] for phone in service["phones"]]
    assert "111" in numbers


def test_search_with_an_ambiguous_place_lists_candidates(cli: None) -> None:
    result = runner.invoke(
        directory_app,
        [
            "search",
            "--topic",
            "find_service",
            "--location",
            "thị xã Phước Long, Bình Phước",
            "--json",
        ],
    )
    location = json.loads(result.stdout)["location"]
    assert location["province"] == "Tỉnh Đồng Nai"
    assert location["commune"] is None
    assert {c["commune"] for c in location["candidates"]} == {
        "Phường Phước Long",
        "Phường Phước Bình",
    }


def test_resolve_prints_the_place_and_why(cli: None) -> None:
    result = runner.invoke(
        directory_app, ["resolve", "xa My Hiep, huyen Cao Lanh, Dong Thap", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "province": "Tỉnh Đồng Tháp",
        "commune": "Xã Mỹ Hiệp",
        "candidates": [],
        "why": "Xã Mỹ Hiệp, Huyện Cao Lãnh (cũ) nay là Xã Mỹ Hiệp, Tỉnh Đồng Tháp.",
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["search", "--topic", "weather", "--location", "Đồng Tháp"],
            "Chủ đề 'weather' không có trong danh mục",
        ),
        (["search", "--topic", "legal_aid", "--location", ""], "Chưa có địa chỉ"),
        (
            ["search", "--topic", "legal_aid", "--location", "x" * 10_000],
            "Địa chỉ quá dài (10000 ký tự)",
        ),
        (
            ["search", "--topic", "legal_aid", "--age", "500"],
            "Tuổi phải là một số nguyên từ 0 đến 120",
        ),
        (["import", "/khong/co/thu-muc-nay"], "Không tìm thấy"),
    ],
)
def test_bad_input_gets_a_message_and_no_traceback(
    cli: None, arguments: list[str], message: str
) -> None:
    result = runner.invoke(directory_app, arguments)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_sql_in_the_location_is_just_an_unknown_place(cli: None) -> None:
    result = runner.invoke(
        directory_app,
        ["search", "--topic", "legal_aid", "--location", "'; DROP TABLE service; --", "--json"],
    )
    document = json.loads(result.stdout)
    assert document["location"] == {"province": None, "commune": None, "candidates": []}
    assert any(
        phone["number"] == "1800 1233" for s in document["services"] for phone in s["phones"]
    )


def test_export_then_import_round_trip_and_a_refused_import(cli: None, tmp_path: Path) -> None:
    exported = runner.invoke(directory_app, ["export", str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "out" / "services.csv").exists()
    imported = runner.invoke(directory_app, ["import", str(tmp_path / "out")])
    assert imported.exit_code == 0, imported.output
    assert "Đã nhập (bổ sung)" in imported.stdout

    services = (tmp_path / "out" / "services.csv").read_text(encoding="utf-8").splitlines()
    services[2] = services[2].replace(",active,", ",open,")
    (tmp_path / "out" / "services.csv").write_text("\n".join(services) + "\n", encoding="utf-8")
    refused = runner.invoke(directory_app, ["import", str(tmp_path / "out")])
    assert refused.exit_code == 1
    assert "services.csv:3: cột 'status': 'open' không hợp lệ" in refused.stderr
    assert "chưa ghi gì vào danh bạ" in refused.stderr


def test_a_database_without_the_directory_gets_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        result = runner.invoke(directory_app, ["search", "--topic", "legal_aid"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "hotline directory seed" in result.stderr
