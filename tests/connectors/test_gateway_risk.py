"""The gateway's own risk level: the lexicon, raised by the learned risk net that the
trained model carries, so that a high message the lexicon misses still gets the
emergency numbers while Rasa is down (the numbers cannot depend on Rasa)."""

from __future__ import annotations

import io
import json
import math
import tarfile
from pathlib import Path
from typing import Any

import pytest

from connectors.app import create_app
from connectors.gateway import load_risk_assessor
from connectors.texts import load_crisis_text
from nlu.risk import assess_risk
from nlu.risk_scorer import (
    TABLES_FILE,
    RiskScorer,
    char_wb_ngrams,
    load_from_model_archive,
    risk_view,
    word_ngrams,
)
from tests.connectors.conftest import GatewayClient

CLOSED_PORT_URL = "http://127.0.0.1:9"
# Written by people the lexicon's authors never read; the net learned their kind.
MISSED_BY_THE_LEXICON = "em không có ý định sống tiếp nữa đâu, mọi thứ vô nghĩa rồi"


def tables(grams: dict[str, float], *, intercept: float = -3.0) -> dict[str, Any]:
    """A binary net (high is its second class) with one block on whole words: idf 1, the
    given weights."""
    return {
        "format": 1,
        "intercepts": [intercept],
        "high": 1,
        "threshold": 0.8,
        "parts": [
            {
                "analyzer": "word",
                "ngram_range": [1, 1],
                "grams": {gram: [1.0, [weight]] for gram, weight in grams.items()},
            }
        ],
    }


def archive_with(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_ngrams_cut_text_as_the_trained_vectorizers_do():
    assert word_ngrams("Tôi  muon chet", 1, 2) == [
        "tôi", "muon", "chet", "tôi muon", "muon chet",
    ]  # fmt: skip
    # words padded with spaces; a word shorter than the n-gram size counts once, whole
    assert char_wb_ngrams("ab c", 2, 4) == [
        " a", "ab", "b ", " ab", "ab ", " ab ", " c", "c ", " c ",
    ]  # fmt: skip


def test_the_probability_is_the_logistic_of_the_normalized_scores():
    scorer = RiskScorer.from_tables(tables({"chet": 2.0, "muon": 1.0}))
    # tf-idf vector (1, 1) normalised: each 1/sqrt(2); score = -3 + (2 + 1) / sqrt(2)
    expected = 1 / (1 + math.exp(-(-3 + 3 / math.sqrt(2))))
    assert scorer.probability("muon chet") == pytest.approx(expected)
    assert scorer.probability("xin chao") == pytest.approx(1 / (1 + math.exp(3)))


def test_a_three_level_net_gives_the_softmax_share_of_high():
    three = tables({})
    three.update(intercepts=[0.5, 0.0, -1.0], high=2)
    three["parts"][0]["grams"] = {"chet": [2.0, [0.0, 1.0, 4.0]]}
    scorer = RiskScorer.from_tables(three)
    # one n-gram, tf-idf 2 and norm 2: each score adds its idf × weight over 2
    scores = [0.5 + 0.0, 0.0 + 0.5, -1.0 + 2.0]
    expected = math.exp(scores[2]) / sum(math.exp(s) for s in scores)
    assert scorer.probability("chet") == pytest.approx(expected)


def test_the_net_is_read_from_the_trained_model_archive(tmp_path):
    member = f"components/train_nlu.risk_model.LearnedRiskEscalation5/{TABLES_FILE}"
    archive = archive_with(
        tmp_path / "model.tar.gz", {member: json.dumps(tables({"chet": 9.0})).encode()}
    )
    scorer = load_from_model_archive(archive)
    assert scorer is not None and scorer.is_high("chet") and not scorer.is_high("song")


@pytest.mark.parametrize(
    "members", [{}, {"components/other/data.json": b"{}"}, {f"x/{TABLES_FILE}": b"not json"}]
)
def test_without_a_usable_net_the_lexicon_decides_alone(tmp_path, members):
    archive = archive_with(tmp_path / "model.tar.gz", members)
    assert load_from_model_archive(archive) is None
    level = load_risk_assessor(archive)
    assert level("tôi muốn tự tử") == "high"
    assert level("xin chào") == "none"


def test_a_missing_model_leaves_the_lexicon_alone(tmp_path):
    level = load_risk_assessor(tmp_path / "absent.tar.gz")
    assert level("chồng tôi đang cầm dao đòi giết tôi") == "high"


def test_the_net_raises_but_never_lowers_the_lexicons_level(tmp_path):
    member = f"c/{TABLES_FILE}"
    # a net that fires on one harmless word only, and finds nothing in a crisis message
    archive = archive_with(
        tmp_path / "model.tar.gz", {member: json.dumps(tables({"banana": 9.0})).encode()}
    )
    level = load_risk_assessor(archive)
    assert level("banana") == "high"
    assert level("tôi muốn tự tử") == "high"
    assert level("") == "none"


def test_the_trained_net_catches_a_high_message_the_lexicon_misses(trained_model):
    assert assess_risk(MISSED_BY_THE_LEXICON).level != "high"
    scorer = load_from_model_archive(trained_model)
    assert scorer is not None, "the trained model carries no risk net"
    assert scorer.is_high(risk_view(MISSED_BY_THE_LEXICON))
    assert not scorer.is_high(risk_view("nóng chết đi được, cho hỏi mai có mưa không"))


def test_rasa_down_and_a_high_message_the_lexicon_misses_still_gets_the_numbers(
    make_settings, session_factory, unique_id, trained_model
):
    settings = make_settings(rasa_url=CLOSED_PORT_URL, models_dir=trained_model.parent)
    app = create_app(settings, session_factory=session_factory)  # the real risk scoring
    sender = unique_id("api")
    with GatewayClient(app) as client:
        client.session_factory = session_factory
        response = client.post(
            "/api/v1/messages", json={"sender_id": sender, "text": MISSED_BY_THE_LEXICON}
        )
        client.drain()
    body = response.json()
    assert response.status_code == 200
    assert body["replies"][0]["text"] == load_crisis_text()
    assert body["ticket"]["priority"] == "urgent"
