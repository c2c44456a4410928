"""The risk detector: its lexicon, its quality on labelled messages, its Rasa component.

Every lexicon entry and guard is covered by its own examples and counter-examples
(parametrized, one test per sentence, so a failing entry is named). The quality bar of
the issue is checked on `nlu/data/risk_cases.jsonl` and on the held-out sets: every
`high` message caught, at most 2% of the other messages marked `high`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.data import TrainingType
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.normalize import fold, has_diacritics
from nlu.risk import (
    ELEVATED,
    HIGH,
    NONE,
    LexiconError,
    RiskDetector,
    assess_risk,
    compile_pattern,
    load_lexicon,
)

DATA = Path(__file__).resolve().parents[2] / "nlu" / "data"
LEXICON = load_lexicon()


def _level(text: str) -> str:
    return assess_risk(text, LEXICON).level


def _cases(entries, field):
    return [
        pytest.param(entry, text, id=f"{entry.id}-{n}")
        for entry in entries
        for n, text in enumerate(getattr(entry, field))
    ]


# --- every entry and guard, by its own sentences -----------------------------------------


@pytest.mark.parametrize(("entry", "text"), _cases(LEXICON.entries, "examples"))
def test_entry_finds_its_examples(entry, text):
    assessment = assess_risk(text, LEXICON)
    assert entry.id in assessment.entry_ids, (text, assessment)
    if entry.level == HIGH:
        assert assessment.level == HIGH, (text, assessment)


@pytest.mark.parametrize(("entry", "text"), _cases(LEXICON.entries, "counter_examples"))
def test_entry_ignores_its_counter_examples(entry, text):
    assert entry.id not in assess_risk(text, LEXICON).entry_ids


@pytest.mark.parametrize(("guard", "text"), _cases(LEXICON.guards, "examples"))
def test_guard_finds_its_examples(guard, text):
    assessment = assess_risk(text, LEXICON)
    assert guard.id in [g.entry_id for g in assessment.guards], (text, assessment)
    assert assessment.level != HIGH
    if guard.level == NONE:
        assert assessment.level == NONE, (text, assessment)


@pytest.mark.parametrize(("guard", "text"), _cases(LEXICON.guards, "counter_examples"))
def test_guard_ignores_its_counter_examples(guard, text):
    assert guard.id not in [g.entry_id for g in assess_risk(text, LEXICON).guards]


@pytest.mark.parametrize("entry", LEXICON.entries, ids=lambda e: e.id)
def test_every_entry_has_accented_and_unaccented_examples(entry):
    registers = {has_diacritics(text) for text in entry.examples}
    assert registers == {True, False}, f"{entry.id}: examples in one register only"


# --- behaviour the issue asks for ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "nóng chết đi được",
        "đói muốn chết",
        "vui muốn xỉu",
        "chết cười",
        "cười chết mất",
        "Chết thật, quên chìa khóa rồi",
        "mệt muốn chết",
        "từ từ",
        "tu tu roi tinh",
        "giết thời gian",
        "phim có cảnh tự tử",
        "tài liệu phòng chống tự tử cho học sinh",
    ],
)
def test_figures_of_speech_stay_none(text):
    assert _level(text) == NONE


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Tôi không muốn sống nữa", HIGH),
        ("toi khong muon song nua", HIGH),
        ("k mun song nua 😭", HIGH),
        ("Em muốn tự tử", HIGH),
        ("em muon tu tu", HIGH),
        ("e mún tự tữ", HIGH),
        ("Chồng tôi đang cầm dao", HIGH),
        ("chong toi dang cam dao", HIGH),
        ("ck e đg cầm 🔪", HIGH),
        ("Tôi bị chồng đánh", ELEVATED),
        ("toi bi chong danh", ELEVATED),
        ("ck e hay đánh e", ELEVATED),
    ],
)
def test_three_registers(text, level):
    assert _level(text) == level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # indirect farewells, entrusting, "better off without me", plans, injury now
        ("Sau đêm nay sẽ chẳng còn ai phải bận tâm về tôi nữa", HIGH),
        ("neu toi khong con nua thi nho anh cham soc con gai toi", HIGH),
        ("e bốc hơi khỏi đời này thì mn đỡ mệt", HIGH),
        ("toi da mua than va dan kin cua so roi", HIGH),
        ("ck đánh e vỡ đầu r, máu chảy đầy mặt 😭", HIGH),
        ("bye mn nha, e đi trc đây, ở lại mạnh giỏi 🥀", HIGH),
        # their everyday look-alikes
        ("Tạm biệt nha, mai gặp lại", NONE),
        ("em di ngu truoc nha, chuc ngu ngon", NONE),
        ("mai e đi xa r, ra HN học đại học", NONE),
        ("Tuần sau tôi gửi con cho bà ngoại trông để đi làm", NONE),
        ("bien mat khoi group chat cong ty cho do phien", NONE),
        ("cười muốn xỉu, thôi bye mn", NONE),
    ],
)
def test_indirect_farewells_and_ordinary_goodbyes(text, level):
    assert _level(text) == level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # a pesticide used on crops is not a means; swallowing it in the field still is
        ("thuoc tru sau loai nao xit sau cuon la tot", NONE),
        ("em ra ruộng uống thuốc trừ sâu", HIGH),
        # violence told as over is elevated; last night with fear of tonight stays high
        ("Tháng trước ổng đánh tôi gãy tay, giờ ổng hiền lại rồi mà tôi vẫn sợ.", ELEVATED),
        ("Chồng tôi bóp cổ tôi tối qua, tôi sợ đêm nay anh ta lại về", HIGH),
        # an explicit denial of intent, and its opposite
        ("e buồn lắm nhưng ko có ý định j dại dột đâu", NONE),
        ("em đang có ý định làm điều dại dột", HIGH),
        # a character of a story, and a reader who wants to die
        ("Em vừa đọc xong một cuốn truyện có nhân vật tự tử", NONE),
        ("phim này nhân vật chính làm em cũng muốn chết", HIGH),
        # a third party's suspicion, and abuse happening now
        ("Tui nghi ông dượng nó làm bậy với con nhỏ 11 tuổi nhà bên, phải báo ai?", ELEVATED),
        ("ông ấy đang sàm sỡ con gái tôi", HIGH),
    ],
)
def test_context_lowers_only_what_it_explains(text, level):
    assert _level(text) == level


@pytest.mark.parametrize(
    "text",
    ["muon tu tu", "dinh tu tu", "tu tu chet", "nghi den tu tu", "se tu tu", "tự tử"],
)
def test_unaccented_tu_tu_needs_context(text):
    assert _level(text) == HIGH
    assert _level("tu tu") == NONE


def test_spans_point_to_the_original_text():
    text = "Dạo này   EM MUỐN CHẾT lắm, thật đấy"
    [match] = [m for m in assess_risk(text, LEXICON).matches if m.entry_id == "wish_to_die"][:1]
    assert text[match.start : match.end] == match.text
    assert fold(match.text) == "muon chet"


def test_spans_survive_decomposed_input():
    text = unicodedata.normalize("NFD", "Hôm nay tôi không muốn sống nữa.")
    assessment = assess_risk(text, LEXICON)
    assert assessment.level == HIGH
    for match in assessment.matches:
        assert text[match.start : match.end] == match.text
    assert "sống" in unicodedata.normalize("NFC", assessment.matches[0].text)


def test_teencode_spans_cover_the_typed_words():
    text = "ad ơi k mun song nua"
    match = assess_risk(text, LEXICON).matches[0]
    assert match.start == text.index("k mun") and match.text.startswith("k mun song")


def test_a_guard_only_cancels_what_it_overlaps():
    assert _level("Đói muốn chết. Nhưng thật ra em muốn chết vì chẳng ai cần em") == HIGH


def test_sentence_boundaries_stop_gaps():
    assert _level("Em muốn hỏi. Ông em chết rồi") != HIGH


# --- robustness --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "😭😭😭🔥💀",
        "<script>alert('tự tử')</script>",
        "'; DROP TABLE users; --",
        "\u200b\u200d\ufeff",
        "\ud800 lone surrogate",
        "99999999999999999999999 viên",
        "a" * 10_000,
        "🆘" * 5_000,
    ],
)
def test_never_raises(text):
    assert assess_risk(text, LEXICON).level in (NONE, ELEVATED, HIGH)


def test_not_a_string_is_none():
    assert assess_risk(None, LEXICON).level == NONE  # type: ignore[arg-type]


def test_huge_message_is_fast_enough():
    message = " ".join(_rows("risk_cases.jsonl")[n]["text"] for n in range(200))[:10_000]
    assess_risk(message, LEXICON)
    best = min(_timed(assess_risk, message, LEXICON) for _ in range(3))
    # ~50 ms on an idle core; the bound leaves room for a busy CI machine
    assert best < 0.5, f"{best * 1000:.0f} ms for 10,000 characters"


def test_typical_message_is_fast():
    texts = [row["text"] for row in _rows("risk_cases.jsonl")]
    start = time.perf_counter()
    for text in texts:
        assess_risk(text, LEXICON)
    per_message = (time.perf_counter() - start) / len(texts)
    assert per_message < 0.005, f"{per_message * 1000:.2f} ms per message"


def _timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


# --- quality on labelled messages ----------------------------------------------------------


def _rows(name: str) -> list[dict]:
    path = DATA / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _score(rows: list[dict]) -> dict:
    predicted = [_level(row["text"]) for row in rows]
    high = [p for row, p in zip(rows, predicted) if row["risk"] == HIGH]
    other = [p for row, p in zip(rows, predicted) if row["risk"] != HIGH]
    elevated = [p for row, p in zip(rows, predicted) if row["risk"] == ELEVATED]
    return {
        "missed": [r["text"] for r, p in zip(rows, predicted) if r["risk"] == HIGH and p != HIGH],
        "false_high": [
            r["text"] for r, p in zip(rows, predicted) if r["risk"] != HIGH and p == HIGH
        ],
        "high": len(high),
        "other": len(other),
        "elevated_accuracy": sum(p == ELEVATED for p in elevated) / max(1, len(elevated)),
    }


def test_risk_cases_are_well_formed():
    rows = _rows("risk_cases.jsonl")
    assert len(rows) >= 250
    for row in rows:
        assert set(row) == {"text", "risk", "register"}, row
        assert row["risk"] in (NONE, ELEVATED, HIGH) and row["register"] in ("acc", "noacc", "teen")
    count = {level: sum(r["risk"] == level for r in rows) for level in (NONE, ELEVATED, HIGH)}
    assert count[HIGH] >= 90 and count[ELEVATED] >= 60 and count[NONE] >= 100


def test_risk_cases_quality(capsys):
    score = _score(_rows("risk_cases.jsonl"))
    with capsys.disabled():
        print(
            f"\nrisk_cases: high recall {1 - len(score['missed']) / score['high']:.1%}, "
            f"false high {len(score['false_high'])}/{score['other']}, "
            f"elevated accuracy {score['elevated_accuracy']:.1%}"
        )
    assert score["missed"] == []
    assert len(score["false_high"]) <= 0.02 * score["other"], score["false_high"]
    assert score["elevated_accuracy"] >= 0.8


HELDOUT = sorted((DATA / "heldout").glob("*.jsonl"))


@pytest.mark.skipif(not HELDOUT, reason="no held-out sets yet")
def test_heldout_quality(capsys):
    rows = [
        row
        for path in HELDOUT
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and (row := json.loads(line)).get("risk")
    ]
    score = _score(rows)
    with capsys.disabled():
        print(
            f"\nheld-out: high recall {1 - len(score['missed']) / max(1, score['high']):.1%}, "
            f"false high {len(score['false_high'])}/{score['other']}, "
            f"elevated accuracy {score['elevated_accuracy']:.1%}"
        )
    assert score["missed"] == []
    assert len(score["false_high"]) <= 0.02 * score["other"], score["false_high"]


# --- the loader ----------------------------------------------------------------------------

GOOD_ENTRY = """
- id: wish
  level: high
  situation: suicidal ideation
  description: wanting to die
  patterns: ['muon chet']
  examples: [em muốn chết]
  counter_examples: [đói muốn chết]
"""
GOOD_GUARD = """
- id: hungry
  description: hunger
  patterns: ['doi muon chet']
  examples: [đói muốn chết]
  counter_examples: [em muốn chết]
"""


def _write(tmp_path, entries=GOOD_ENTRY, guards=GOOD_GUARD, head="version: '1'\n"):
    path = tmp_path / "lexicon.yml"
    path.write_text(f"{head}entries:{entries}guards:{guards}", encoding="utf-8")
    return path


def test_loader_reads_a_good_file(tmp_path):
    lexicon = load_lexicon(_write(tmp_path))
    assert assess_risk("em muốn chết", lexicon).level == HIGH
    assert assess_risk("đói muốn chết", lexicon).level == NONE


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (GOOD_ENTRY.replace("level: high", "level: urgent"), "entry 'wish': 'level'"),
        (GOOD_ENTRY.replace("  examples: [em muốn chết]\n", ""), "entry 'wish': 'examples'"),
        (GOOD_ENTRY.replace("'muon chet'", "'k muon chet'"), "entry 'wish', pattern 1"),
        (GOOD_ENTRY.replace("'muon chet'", "'muon ~20 chet'"), "gap ~20 out of range"),
        (GOOD_ENTRY.replace("'muon chet'", "'@feelings chet'"), "unknown word class"),
        (GOOD_ENTRY.replace("'muon chet'", "'muon chet ~2'"), "cannot end with a gap"),
        (GOOD_ENTRY.replace("'muon chet'", "'chet?'"), "cannot be optional"),
        (GOOD_ENTRY.replace("  description: wanting to die\n", "  colour: red\n"), "unknown field"),
        (GOOD_ENTRY + GOOD_ENTRY, "entry 'wish': duplicate id"),
        (GOOD_ENTRY.replace("id: wish", "id: Wish Me"), "'id' must be snake_case"),
    ],
)
def test_loader_names_the_broken_entry(tmp_path, broken, message):
    with pytest.raises(LexiconError, match=message.replace("(", r"\(")) as error:
        load_lexicon(_write(tmp_path, entries=broken))
    assert "lexicon.yml" in str(error.value)


def test_loader_rejects_bad_yaml_and_missing_files(tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text("entries: [unclosed", encoding="utf-8")
    with pytest.raises(LexiconError, match="not valid YAML"):
        load_lexicon(path)
    with pytest.raises(LexiconError, match="cannot read"):
        load_lexicon(tmp_path / "missing.yml")


def test_loader_checks_guard_targets(tmp_path):
    guard = GOOD_GUARD.replace("  description: hunger\n", "  description: hunger\n  only: [nope]\n")
    with pytest.raises(LexiconError, match=r"guards entry 'hungry'.*unknown entries \['nope'\]"):
        load_lexicon(_write(tmp_path, guards=guard))


def test_pattern_language(tmp_path):
    assert compile_pattern("tự_tử").accented and not compile_pattern("tu_sat").accented
    patterns = "'uong #10 vien', 'khong muon song nua|$', 'em ~2 khoc !cuoi'"
    entry = GOOD_ENTRY.replace("'muon chet'", patterns).replace("[em muốn chết]", "[uống 30 viên]")
    lexicon = load_lexicon(_write(tmp_path, entries=entry))
    assert assess_risk("uống 30 viên", lexicon).level == HIGH
    assert assess_risk("uống 2 viên", lexicon).level == NONE
    assert assess_risk("không muốn sống. Mai tính", lexicon).level == HIGH
    assert assess_risk("em buồn quá khóc", lexicon).level == HIGH
    assert assess_risk("em buồn khóc cười", lexicon).level == NONE


# --- the Rasa component ----------------------------------------------------------------------


def _detector(tmp_path) -> RiskDetector:
    return RiskDetector.create(
        RiskDetector.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("risk"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def test_component_sets_risk_on_every_message(tmp_path):
    messages = [Message(data={"text": t}) for t in ("em muốn chết", "bị chồng đánh", "xin chào")]
    _detector(tmp_path).process(messages)
    assert [m.get("risk") for m in messages] == [HIGH, ELEVATED, NONE]
    assert messages[0].get("risk_matches") == ["wish_to_die"]
    output = messages[0].as_dict(only_output_properties=True)
    assert output["risk"] == HIGH and output["risk_matches"] == ["wish_to_die"]


def test_component_annotates_training_data(tmp_path):
    data = TrainingData([Message(data={"text": "k mun song nua", "intent": "self_harm"})])
    _detector(tmp_path).process_training_data(data)
    assert data.training_examples[0].get("risk") == HIGH


def test_component_leaves_textless_messages_and_survives_errors(tmp_path, monkeypatch):
    detector = _detector(tmp_path)
    action = Message(data={"action_name": "utter_greet"})
    detector.process([action])
    assert action.get("risk") is None

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("nlu.risk.assess_risk", broken)
    message = Message(data={"text": "em muốn chết"})
    detector.process([message])
    assert message.get("risk") == ELEVATED and message.get("risk_matches") == ["detector_error"]


def test_component_runs_after_the_tokenizer_in_training_and_prediction():
    config = {
        "recipe": "default.v1",
        "language": "vi",
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {"name": "nlu.risk.RiskDetector"},
            {"name": "CountVectorsFeaturizer"},
            {"name": "LogisticRegressionClassifier"},
        ],
        "policies": [],
    }
    graphs = DefaultV1Recipe().graph_config_for_recipe(config, {}, TrainingType.NLU)
    train = graphs.train_schema.nodes["run_nlu.risk.RiskDetector1"]
    predict = graphs.predict_schema.nodes["run_nlu.risk.RiskDetector1"]
    assert train.uses is RiskDetector and train.fn == "process_training_data"
    assert train.needs["training_data"] == "run_WhitespaceTokenizer0"
    assert predict.uses is RiskDetector and predict.fn == "process"
    assert predict.needs["messages"] == "run_WhitespaceTokenizer0"


def test_imports_without_rasa_for_the_gateway():
    """The gateway runs in the app's environment, which has no Rasa."""
    code = (
        "import sys; sys.modules['rasa'] = None\n"
        "import nlu.risk as risk\n"
        "assert not hasattr(risk, 'RiskDetector')\n"
        "print(risk.assess_risk('k mun song nua').level, risk.assess_risk('đói muốn chết').level)"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [HIGH, NONE]
