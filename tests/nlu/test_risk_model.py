"""The learned risk net: trained for real, it only ever raises `risk` to high."""

from __future__ import annotations

import json
import statistics
import time

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.augment import augment
from nlu.risk_model import (
    LearnedRiskEscalation,
    RiskDataError,
    build_model,
    high_probabilities,
    read_cases,
    resolve,
    risk_view,
    scorer_tables,
)
from nlu.risk_scorer import TABLES_FILE, RiskScorer
from nlu.train import load_training_data

HIGH_TEXTS = [
    "tôi muốn chết",
    "em không muốn sống nữa",
    "tôi đã chuẩn bị thuốc để tự tử",
    "tôi vừa rạch tay",
    "tạm biệt mọi người, tôi đi đây",
    "tôi sẽ nhảy cầu tối nay",
]
OTHER_TEXTS = [
    ("nóng chết đi được", "none"),
    ("vui muốn xỉu", "none"),
    ("xin chào", "none"),
    ("cho tôi số tổng đài", "none"),
    ("chồng tôi hay chửi tôi", "elevated"),
    ("dạo này tôi mất ngủ", "elevated"),
]


def _write_cases(path, rows):
    path.write_text(
        "\n".join(json.dumps({"text": t, "risk": r}, ensure_ascii=False) for t, r in rows),
        encoding="utf-8",
    )
    return path


def _train(tmp_path, config, examples=()):
    (tmp_path / "model").mkdir()
    storage = LocalModelStorage(tmp_path / "model")
    context = ExecutionContext(GraphSchema({}), "test")
    resource = Resource("learned_risk")
    config = {**LearnedRiskEscalation.get_default_config(), **config}
    component = LearnedRiskEscalation.create(config, storage, resource, context)
    component.train(TrainingData(training_examples=list(examples)))
    return LearnedRiskEscalation.load(config, storage, resource, context)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("small")
    data = _write_cases(tmp_path / "cases.jsonl", [(t, "high") for t in HIGH_TEXTS] + OTHER_TEXTS)
    return _train(tmp_path, {"data_files": [str(data)], "threshold": 0.5})


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """Trained as `make train` trains it: the packaged cases, the augmented NLU examples."""
    examples = augment(load_training_data()).training_examples
    return _train(tmp_path_factory.mktemp("packaged"), {}, examples)


def _run(component, text, risk="none", matches=()):
    message = Message(data={"text": text, "risk": risk, "risk_matches": list(matches)})
    component.process([message])
    return message


def test_a_saved_and_loaded_model_raises_high_messages(small):
    message = _run(small, "em muốn chết", matches=["severe_distress"])
    assert message.get("risk") == "high"
    assert message.get("risk_matches") == ["severe_distress", "learned_risk"]


def test_the_saved_model_carries_its_tables_for_the_gateway(small):
    with small._model_storage.read_from(small._resource) as directory:
        tables = json.loads((directory / TABLES_FILE).read_text(encoding="utf-8"))
    assert tables["threshold"] == small.threshold
    scorer = RiskScorer.from_tables(tables)
    assert scorer.is_high(risk_view("em muốn chết")) and not scorer.is_high(risk_view("xin chào"))


def test_it_reads_every_register(small):
    assert _run(small, "e ko mun song nua").get("risk") == "high"


@pytest.mark.parametrize("risk", ["none", "elevated"])
def test_an_unworried_model_keeps_the_level(small, risk):
    message = _run(small, "xin chào", risk=risk)
    assert message.get("risk") == risk and message.get("risk_matches") == []


def test_it_never_lowers_high(small):
    message = _run(small, "xin chào", risk="high", matches=["intent:self_harm"])
    assert message.get("risk") == "high"
    assert message.get("risk_matches") == ["intent:self_harm"]


@pytest.mark.parametrize("text", [None, "", "   ", "!!! ...", 42])
def test_messages_without_words_are_left_alone(small, text):
    data = {"risk": "none"} if text is None else {"text": text, "risk": "none"}
    message = Message(data=data)
    small.process([message])
    assert message.get("risk") == "none"


def test_a_model_that_fails_keeps_the_lexicon_level(small, monkeypatch):
    def broken(_text):
        raise RuntimeError("boom")

    monkeypatch.setattr(small, "probability", broken)
    assert _run(small, "em muốn chết", risk="elevated").get("risk") == "elevated"


def test_without_a_trained_model_it_passes_messages_through(tmp_path):
    data = _write_cases(tmp_path / "cases.jsonl", [(t, "high") for t in HIGH_TEXTS])
    component = _train(tmp_path, {"data_files": [str(data)]})  # one class: nothing learned
    assert component.model is None
    assert _run(component, "em muốn chết").get("risk") == "none"


def test_the_fingerprint_follows_the_data_file(tmp_path):
    data = _write_cases(tmp_path / "cases.jsonl", OTHER_TEXTS)
    config = {"data_files": [str(data)]}
    before = LearnedRiskEscalation.fingerprint_addon(config)
    _write_cases(data, [*OTHER_TEXTS, ("tôi muốn chết", "high")])
    assert LearnedRiskEscalation.fingerprint_addon(config) != before


def test_a_bad_data_file_names_its_line(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text('{"text": "a", "risk": "none"}\n{"text": "b", "risk": "urgent"}\n')
    with pytest.raises(RiskDataError, match="cases.jsonl:2"):
        read_cases(path)
    with pytest.raises(RiskDataError, match="cannot read"):
        read_cases(tmp_path / "missing.jsonl")


@pytest.mark.parametrize(
    "text",
    [
        "nóng chết đi được",
        "vui muốn xỉu",
        "chết thật, quên chìa khóa rồi",
        "đói muốn chết",
        "tối qua xem phim có cảnh tự tử, buồn ghê",
    ],
)
def test_figures_of_speech_stay_below_high_with_the_packaged_data(packaged, text):
    assert _run(packaged, text).get("risk") == "none"


@pytest.mark.parametrize(
    "text",
    [
        # indirect wishes to die that the lexicon has no pattern for
        "Dạo này tôi cứ nghĩ nếu mình biến mất thì mọi chuyện sẽ nhẹ nhàng hơn",
        "Tôi không thấy lý do gì để thức dậy vào sáng mai nữa",
    ],
)
def test_the_packaged_model_raises_indirect_wishes_to_die(packaged, text):
    assert _run(packaged, text).get("risk") == "high"


def test_a_parse_stays_fast(packaged):
    texts = [text for text, _ in read_cases(resolve(packaged.config["data_files"])[0])][:300]
    durations = []
    for text in texts:
        best = float("inf")
        for _ in range(3):  # the best of three: other processes' load is not our cost
            started = time.perf_counter()
            _run(packaged, text)
            best = min(best, time.perf_counter() - started)
        durations.append(best)
    p95 = statistics.quantiles(durations, n=20)[-1]
    assert p95 < 0.003, f"p95 {p95 * 1000:.2f} ms"


def test_the_tables_score_as_the_pipeline_does(packaged):
    for text in ["em muốn chết", "nong chet di duoc", "ck e đánh e quáaaa 😭", "xin chào"]:
        view = risk_view(text)
        expected = high_probabilities(packaged.model, [view])[0]
        assert packaged.probability(text) == pytest.approx(expected, abs=1e-9)


def test_the_packaged_model_learns_the_three_levels(packaged):
    classes = list(packaged.model.named_steps["classifier"].classes_)
    assert sorted(classes) == sorted(["none", "elevated", "high"])


@pytest.mark.parametrize(
    "levels",
    [("high", "none"), ("elevated", "high"), ("elevated", "high", "none")],
)
def test_the_exported_tables_are_exact_for_any_set_of_levels(levels):
    """Binary fits (high as class 0 or 1) use the logistic, three levels the softmax; the
    tables go through JSON, as they do into the model archive and out in the gateway."""
    rows = [(t, "high") for t in HIGH_TEXTS] + [
        (t, r if r in levels else levels[0]) for t, r in OTHER_TEXTS
    ]
    config = {**LearnedRiskEscalation.get_default_config(), "C": 4.0}
    views = [risk_view(t) for t, _ in rows]
    model = build_model(config).fit(views, [r for _, r in rows])
    scorer = RiskScorer.from_tables(json.loads(json.dumps(scorer_tables(model, 0.7))))
    for text in ["em muốn chết", "xin chào", "chồng tôi hay chửi tôi", "tôi mất ngủ, muốn chết"]:
        view = risk_view(text)
        expected = high_probabilities(model, [view])[0]
        assert scorer.probability(view) == pytest.approx(expected, abs=1e-9)
