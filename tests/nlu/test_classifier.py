"""The intent classifier component, trained for real on a small data set."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.classifier import VietnameseIntentClassifier
from nlu.tokenizer import VietnameseTokenizer

EXAMPLES = {
    "domestic_violence": [
        "chồng tôi đánh tôi",
        "anh ấy say rượu là đánh vợ",
        "chồng hay chửi và đánh tôi",
        "tôi bị chồng đánh bầm tím",
    ],
    "disaster_relief": [
        "nhà tôi bị lũ cuốn trôi",
        "nước ngập hết nhà rồi",
        "bão làm sập nhà tôi",
        "lũ về không còn gì ăn",
    ],
    "greet": ["xin chào", "chào bạn", "chào ad", "chào buổi tối"],
}


def _tokenize(messages):
    VietnameseTokenizer(VietnameseTokenizer.get_default_config()).process(messages)
    return messages


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    context = ExecutionContext(GraphSchema({}), "test")
    resource = Resource("intent_classifier")
    config = VietnameseIntentClassifier.get_default_config()
    classifier = VietnameseIntentClassifier.create(config, storage, resource, context)
    messages = _tokenize(
        [Message(data={"text": t, "intent": i}) for i, texts in EXAMPLES.items() for t in texts]
    )
    classifier.train(TrainingData(training_examples=messages))
    return VietnameseIntentClassifier.load(config, storage, resource, context)


def _classify(classifier, text):
    message = _tokenize([Message(data={"text": text})])[0]
    classifier.process([message])
    return message


@pytest.mark.parametrize(
    "text, intent",
    [
        ("chong toi danh toi", "domestic_violence"),  # unaccented, seen accented only
        ("ck e đánh e", "domestic_violence"),  # teencode
        ("nha toi ngap lu", "disaster_relief"),
        ("chàooo", "greet"),
    ],
)
def test_a_saved_and_loaded_model_understands_every_register(trained, text, intent):
    assert _classify(trained, text).get("intent")["name"] == intent


def test_confidences_form_a_ranking(trained):
    ranking = _classify(trained, "chồng tôi đánh tôi").get("intent_ranking")
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert 0 < confidences[0] <= 1 and abs(sum(confidences) - 1) < 0.01


def test_a_message_with_no_words_gets_no_intent(trained):
    message = _classify(trained, "")
    assert message.get("intent") == {"name": None, "confidence": 0.0}
