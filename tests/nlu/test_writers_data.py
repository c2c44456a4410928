"""The writers' training lines: valid, loaded into training, and deciding their own risk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.message import Message

from nlu.evaluate import REGISTERS
from nlu.paths import BOT_DIR, WRITERS_DATA_DIR
from nlu.risk_model import LEVELS, resolve, risk_view, training_levels, training_pairs
from nlu.train import load_training_data, read_writer_examples, writer_files

WRITERS = writer_files()


def _domain_intents() -> set[str]:
    from rasa.shared.core.domain import Domain

    return set(Domain.load(str(BOT_DIR / "domain")).intents)


@pytest.mark.parametrize("path", WRITERS, ids=lambda p: p.stem)
def test_every_writer_line_is_complete_and_known(path: Path):
    intents = _domain_intents()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        row = json.loads(line)
        assert row["intent"] in intents, f"{path.name}:{number}"
        assert row["register"] in REGISTERS, f"{path.name}:{number}"
        assert row["risk"] in LEVELS, f"{path.name}:{number}"
        assert row["text"].strip(), f"{path.name}:{number}"


def test_writers_lines_are_part_of_the_training_data():
    everything = load_training_data().training_examples
    without_a = load_training_data(exclude_writers={WRITERS[0].stem}).training_examples
    own = {m.get("text") for m in read_writer_examples(WRITERS[0])}
    assert own <= {m.get("text") for m in everything}
    # short lines ("Xin chào") are in other writers' files too; the rest only come from here
    others = {m.get("text") for path in WRITERS[1:] for m in read_writer_examples(path)}
    only_here = own - others
    assert len(only_here) > 0.5 * len(own)
    assert len(only_here - {m.get("text") for m in without_a}) > 0.9 * len(only_here)


def test_a_writer_line_keeps_intent_and_register(tmp_path):
    path = tmp_path / "w.jsonl"
    row = {"text": "ck e say r đánh e", "intent": "domestic_violence", "register": "teen"}
    path.write_text(json.dumps({**row, "risk": "elevated"}, ensure_ascii=False), encoding="utf-8")
    (message,) = read_writer_examples(path)
    assert message.get("text") == row["text"]
    assert message.get("intent") == "domestic_violence"
    assert message.get("metadata") == {"intent": {"register": "teen"}}


def test_a_bad_writer_line_names_its_file_and_line(tmp_path):
    path = tmp_path / "w.jsonl"
    path.write_text('{"text": "chào", "intent": "greet", "register": "acc"}\n{"text": 1}\n')
    with pytest.raises(SystemExit, match="w.jsonl:2"):
        read_writer_examples(path)


def test_the_risk_data_pattern_takes_every_writer_file():
    found = resolve(["nlu/data/writers/*.jsonl"])
    assert found == sorted(WRITERS_DATA_DIR.glob("*.jsonl"))
    assert resolve(["nlu/data/nowhere/*.jsonl"]) == []


def test_a_labelled_case_overrides_its_intents_implied_risk():
    # a teacher asking for prevention leaflets is self_harm by topic, but no danger
    text = "Tôi là giáo viên, xin tài liệu phòng chống tự tử cho học sinh"
    examples = [
        Message(data={"text": text, "intent": "self_harm"}),
        Message(
            data={
                "text": "Toi la giao vien, xin tai lieu phong chong tu tu cho hoc sinh",
                "intent": "self_harm",
            }
        ),
        Message(data={"text": "tôi muốn chết", "intent": "self_harm"}),
    ]
    views, labels = training_pairs([(text, "none")], examples, ["self_harm"], [])
    assert dict(zip(views, labels)) == {risk_view(text): 0, risk_view("tôi muốn chết"): 1}
    views, levels = training_levels(
        [(text, "none"), ("chồng tôi hay chửi tôi", "elevated")], examples, ["self_harm"], []
    )
    assert dict(zip(views, levels)) == {
        risk_view(text): "none",
        risk_view("chồng tôi hay chửi tôi"): "elevated",
        risk_view("tôi muốn chết"): "high",
    }
