"""`hotline nlu predict`: JSON lines in, one parse per line out, in order."""

from __future__ import annotations

import json
import subprocess

import pytest

from hotline.settings import REPO_ROOT

HOTLINE = str(REPO_ROOT / ".venv" / "bin" / "hotline")


def _predict(lines, *args):
    return subprocess.run(
        [HOTLINE, "nlu", "predict", *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )


@pytest.fixture(scope="module")
def parsed(trained_model):
    requests = [
        {"text": "Chồng tôi hay đánh tôi"},
        {"text": "chong toi hay danh toi"},
        {"text": "ck e hay đánh e 😭"},
        {"text": "em muốn tự tử"},
        {"text": "k mun song nua"},
        {"text": "trời nóng chết đi được"},
        {"text": "em 14t ở xã Mỹ Hiệp, Đồng Tháp, mã HT-7KQ2MX"},
        {"text": ""},
        {"text": "<b>'; DROP TABLE tickets; --</b>"},
        {"text": "a" * 10_000},
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in requests]
    lines.insert(3, "this is not json")
    result = _predict(lines)
    assert result.returncode == 0, result.stderr[-2000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_one_answer_per_input_line_in_order(parsed):
    assert len(parsed) == 11
    assert parsed[0]["text"] == "Chồng tôi hay đánh tôi"
    assert parsed[-1]["text"] == "a" * 10_000
    assert set(parsed[0]) == {"text", "intent", "confidence", "risk", "entities"}


def test_the_three_registers_are_understood_alike(parsed):
    assert [p["intent"] for p in parsed[:3]] == ["domestic_violence"] * 3


def test_a_malformed_line_gets_an_error_in_its_place(parsed):
    assert parsed[3] == {"text": None, "error": "not JSON (Expecting value)"}


def test_crisis_messages_are_high_risk_and_figures_of_speech_are_not(parsed):
    assert parsed[4]["risk"] == "high"
    assert parsed[5]["risk"] == "high"
    assert parsed[6]["risk"] == "none"


def test_entities_come_with_their_values(parsed):
    entities = {(e["entity"], e["value"]) for e in parsed[7]["entities"]}
    assert entities >= {
        ("age", "14"),
        ("location", "xã Mỹ Hiệp"),
        ("location", "Đồng Tháp"),
        ("ticket_code", "HT-7KQ2MX"),
    }


def test_empty_and_hostile_text_get_a_parse_not_a_crash(parsed):
    for result in parsed[8:]:
        assert result["risk"] in {"none", "elevated", "high"}
        assert "error" not in result


def test_it_says_clearly_when_there_is_no_model(tmp_path):
    result = _predict(['{"text": "xin chào"}'], "--model", str(tmp_path / "missing.tar.gz"))
    assert result.returncode == 2
    assert "No trained model" in result.stderr and "make train" in result.stderr
    assert result.stdout == ""
