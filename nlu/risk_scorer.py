"""The learned risk net's scoring, in plain Python: usable where scikit-learn is not.

`nlu.risk_model` fits the net (TF-IDF of the risk view, logistic regression) in the Rasa
environment and exports it as tables: per feature block, its analyzer and, per n-gram,
its idf and idf × weight for each of the classifier's scores. Scoring a message needs only these tables, so the same numbers come
out in Rasa and in the gateway, whose environment has no scikit-learn: while Rasa is
down, or while staff have the conversation, the gateway still catches the high messages
the lexicon misses.

The analyzers repeat scikit-learn's `TfidfVectorizer` (lowercase; `word` with the token
pattern `\\S+`; `char_wb`), and the arithmetic its sublinear TF, L2 norm per block and
logistic or softmax; `tests/nlu/test_risk_model.py` holds them to the fitted pipeline.

Usage:
    scorer = RiskScorer.from_tables(tables)            # tables = scorer_tables(pipeline)
    scorer.probability(risk_view(text))                # P(high)
    scorer.is_high(risk_view(text))                    # at the trained threshold
    scorer = load_from_model_archive(Path("models/hotline.tar.gz"))   # None if absent
"""

from __future__ import annotations

import json
import logging
import math
import re
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlu.normalize import fold, normalize_text

logger = logging.getLogger(__name__)

# The member of the Rasa model archive (the risk component's resource) with the tables.
TABLES_FILE = "risk_net.json"
TABLES_FORMAT = 1
WORD, CHAR_WB = "word", "char_wb"
_WHITE_SPACES = re.compile(r"\s\s+")
_TOKENS = re.compile(r"\S+")

Analyzer = Callable[[str], list[str]]


def risk_view(text: str) -> str:
    """What the net reads: the normal form (teencode expanded), without diacritics."""
    return fold(normalize_text(text))


def word_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's `analyzer="word"` with `token_pattern=r"\\S+"`, lowercased."""
    tokens = _TOKENS.findall(text.lower())
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return grams


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's `analyzer="char_wb"`: character n-grams inside space-padded words;
    a word shorter than an n-gram size counts once, whole."""
    grams = []
    for word in _WHITE_SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            grams += [padded[i : i + n] for i in range(max(1, len(padded) - n + 1))]
            if len(padded) <= n:
                break
    return grams


def analyzer(kind: str, ngram_range: Sequence[int]) -> Analyzer:
    low, high = int(ngram_range[0]), int(ngram_range[1])
    if kind == WORD:
        return lambda text: word_ngrams(text, low, high)
    if kind == CHAR_WB:
        return lambda text: char_wb_ngrams(text, low, high)
    raise ValueError(f"unknown analyzer {kind!r}")


@dataclass(frozen=True)
class Block:
    """One TF-IDF feature block: how it cuts a text, and per n-gram its idf and its
    idf × weight for each score of the classifier."""

    analyze: Analyzer
    table: dict[str, tuple[float, tuple[float, ...]]]

    def add_scores(self, view: str, scores: list[float]) -> None:
        counts: dict[str, int] = {}
        for gram in self.analyze(view):
            if gram in self.table:
                counts[gram] = counts.get(gram, 0) + 1
        squares = 0.0
        dots = [0.0] * len(scores)
        for gram, count in counts.items():
            idf, weighted = self.table[gram]
            tf = 1.0 + math.log(count)  # sublinear TF
            squares += (tf * idf) ** 2
            for row, weight in enumerate(weighted):
                dots[row] += tf * weight
        if squares:
            norm = math.sqrt(squares)  # L2 norm of the block's vector
            for row, dot in enumerate(dots):
                scores[row] += dot / norm


class RiskScorer:
    """P(high) of a risk view, from exported tables. A binary classifier has one score
    (for its second class: the logistic gives its probability); a multinomial one has a
    score per class (softmax)."""

    def __init__(
        self, intercepts: Sequence[float], high: int, blocks: Sequence[Block], threshold: float
    ) -> None:
        self.intercepts = tuple(intercepts)
        self.high = high  # the index of `high` among the classifier's classes
        self.blocks = tuple(blocks)
        # the level the Rasa component raises at; the gateway uses the same
        self.threshold = threshold

    @classmethod
    def from_tables(cls, tables: dict[str, Any]) -> RiskScorer:
        if tables.get("format") != TABLES_FORMAT:
            raise ValueError(f"risk net tables of format {tables.get('format')!r}, expected 1")
        blocks = [
            Block(
                analyzer(part["analyzer"], part["ngram_range"]),
                {gram: (idf, tuple(row)) for gram, (idf, row) in part["grams"].items()},
            )
            for part in tables["parts"]
        ]
        return cls(tables["intercepts"], int(tables["high"]), blocks, float(tables["threshold"]))

    def probability(self, view: str) -> float:
        scores = list(self.intercepts)
        for block in self.blocks:
            block.add_scores(view, scores)
        if len(scores) == 1:
            p_second = _logistic(scores[0])
            return p_second if self.high == 1 else 1.0 - p_second
        top = max(scores)
        exps = [math.exp(score - top) for score in scores]
        return exps[self.high] / sum(exps)

    def is_high(self, view: str) -> bool:
        return self.probability(view) >= self.threshold


def _logistic(score: float) -> float:
    if score >= 0:
        return 1.0 / (1.0 + math.exp(-score))
    small = math.exp(score)  # no overflow for very negative scores
    return small / (1.0 + small)


def load_from_model_archive(archive: Path) -> RiskScorer | None:
    """The risk net kept in a trained Rasa model (`models/hotline.tar.gz`), or None when
    there is no model, or it was trained without the net."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = next(
                (m for m in tar.getmembers() if m.isfile() and m.name.endswith(TABLES_FILE)),
                None,
            )
            if member is None:
                return None
            handle = tar.extractfile(member)
            if handle is None:
                return None
            tables = json.load(handle)
    except (OSError, tarfile.TarError, ValueError) as error:
        logger.warning("no risk net from %s (%s)", archive, type(error).__name__)
        return None
    return RiskScorer.from_tables(tables)
