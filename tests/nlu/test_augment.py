"""Training-time augmentation: unaccented and teencode copies with entities in place."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.augment import augment, teencode_copy, unaccented_copy
from nlu.normalize import has_diacritics


def _message(text, intent="domestic_violence", entities=()):
    data = {"text": text, "intent": intent}
    if entities:
        data["entities"] = list(entities)
    return Message(data=data)


def test_unaccented_copy_keeps_entities_on_the_same_words():
    text = "Chồng tôi ở Đồng Tháp không cho tôi đi làm"
    start = text.index("Đồng Tháp")
    entity = {"entity": "location", "start": start, "end": start + 9, "value": "Đồng Tháp"}
    copy = unaccented_copy(_message(text, entities=[entity]))
    assert copy.get("text") == "Chong toi o Dong Thap khong cho toi di lam"
    assert copy.get("entities")[0]["value"] == "Dong Thap"


def test_teencode_copy_moves_entities_with_the_text():
    text = "Chồng tôi không cho tôi về quê ở Đồng Tháp, tôi không biết làm gì"
    start = text.index("Đồng Tháp")
    entity = {"entity": "location", "start": start, "end": start + 9, "value": "Đồng Tháp"}
    copy = teencode_copy(_message(text, entities=[entity]))
    assert copy is not None and copy.get("text") != text
    moved = copy.get("entities")[0]
    assert copy.get("text")[moved["start"] : moved["end"]] == moved["value"]
    assert moved["value"] in ("Đồng Tháp", "Dong Thap")


def test_copies_are_deterministic():
    message = _message("Tôi không biết phải làm gì, chồng tôi lại say rồi")
    assert teencode_copy(message).get("text") == teencode_copy(message).get("text")


def test_augment_triples_accented_examples_without_duplicates():
    data = TrainingData(
        training_examples=[
            _message("Tôi không biết phải làm gì, chồng tôi lại say rồi"),
            _message("chong toi lai danh toi"),
        ]
    )
    texts = [m.get("text") for m in augment(data).training_examples]
    assert len(texts) == len({t.lower() for t in texts})
    assert any(not has_diacritics(t) for t in texts[:3])
    assert "chong toi lai danh toi" in texts
