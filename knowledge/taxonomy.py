"""The help topics of the assistant and the taxonomy terms that serve them.

`knowledge/data/taxonomy.yml` is the data; this module checks it, loads it into the
`taxonomy_term` and `taxonomy_term_topic` tables, and answers "is this a topic?" and
"what do we call it in a reply?".

Usage:
    taxonomy = read_taxonomy()
    load_taxonomy(session, taxonomy)          # upsert terms and their topics
    check_topic("child_protection")           # raises UnknownTopicError otherwise
    topic_label("child_protection")           # "bảo vệ trẻ em"
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from knowledge.errors import DirectoryError, UnknownTopicError
from knowledge.models import TaxonomyTerm, TaxonomyTermTopic

TAXONOMY_FILE = Path(__file__).resolve().parent / "data" / "taxonomy.yml"

# The help-topic intents of shared/INTENTS.md; other code and the reports use these names.
EMOTIONAL_SUPPORT = "emotional_support"
SELF_HARM = "self_harm"
SCHOOL_COUNSELING = "school_counseling"
FAMILY_CONFLICT = "family_conflict"
DOMESTIC_VIOLENCE = "domestic_violence"
CHILD_PROTECTION = "child_protection"
DISASTER_RELIEF = "disaster_relief"
DISABILITY_SUPPORT = "disability_support"
ELDERLY_CARE = "elderly_care"
ADDICTION_SUPPORT = "addiction_support"
LEGAL_AID = "legal_aid"
SOCIAL_ALLOWANCE = "social_allowance"
HIV_SUPPORT = "hiv_support"
VOLUNTEER_DONATE = "volunteer_donate"
FIND_SERVICE = "find_service"

HELP_TOPICS: tuple[str, ...] = (
    EMOTIONAL_SUPPORT,
    SELF_HARM,
    SCHOOL_COUNSELING,
    FAMILY_CONFLICT,
    DOMESTIC_VIOLENCE,
    CHILD_PROTECTION,
    DISASTER_RELIEF,
    DISABILITY_SUPPORT,
    ELDERLY_CARE,
    ADDICTION_SUPPORT,
    LEGAL_AID,
    SOCIAL_ALLOWANCE,
    HIV_SUPPORT,
    VOLUNTEER_DONATE,
    FIND_SERVICE,
)


class TaxonomyFileError(DirectoryError):
    """The taxonomy file does not follow its schema."""


@dataclass(frozen=True)
class Term:
    """A taxonomy term as written in the file."""

    code: str
    name: str
    description: str
    parent: str | None
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    """The whole taxonomy file, checked."""

    name: str
    language: str
    topic_labels: dict[str, str]
    terms: tuple[Term, ...]

    def terms_for(self, topic: str) -> list[Term]:
        """The terms whose services answer `topic`."""
        return [term for term in self.terms if topic in term.topics]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise TaxonomyFileError(f"{TAXONOMY_FILE.name}: {message}")


def parse_taxonomy(document: Any) -> Taxonomy:
    """Check a parsed taxonomy document against the schema and return it."""
    _require(isinstance(document, dict), "cần một bảng YAML ở cấp ngoài cùng")
    _require(document.get("version") == 1, "cần 'version: 1'")
    topics = document.get("topics")
    _require(isinstance(topics, dict), "thiếu mục 'topics'")
    missing = [topic for topic in HELP_TOPICS if topic not in topics]
    extra = [topic for topic in topics if topic not in HELP_TOPICS]
    _require(not missing, f"thiếu chủ đề: {', '.join(missing)}")
    _require(not extra, f"chủ đề không có trong INTENTS.md: {', '.join(extra)}")
    labels = {}
    for topic, info in topics.items():
        _require(
            isinstance(info, dict) and bool(info.get("label")), f"chủ đề '{topic}' thiếu 'label'"
        )
        labels[topic] = str(info["label"])

    raw_terms = document.get("terms")
    _require(isinstance(raw_terms, list) and bool(raw_terms), "thiếu danh sách 'terms'")
    terms: list[Term] = []
    for position, raw in enumerate(raw_terms, start=1):
        _require(isinstance(raw, dict), f"mục thứ {position} của 'terms' không phải một bảng")
        unknown = set(raw) - {"code", "name", "description", "parent", "topics"}
        _require(
            not unknown, f"thuật ngữ thứ {position} có trường lạ: {', '.join(sorted(unknown))}"
        )
        code, name = raw.get("code"), raw.get("name")
        _require(bool(code) and bool(name), f"thuật ngữ thứ {position} thiếu 'code' hoặc 'name'")
        term_topics = raw.get("topics") or []
        bad = [topic for topic in term_topics if topic not in HELP_TOPICS]
        _require(not bad, f"thuật ngữ '{code}' có chủ đề lạ: {', '.join(map(str, bad))}")
        terms.append(
            Term(
                str(code),
                str(name),
                str(raw.get("description") or ""),
                raw.get("parent"),
                tuple(term_topics),
            )
        )
    codes = [term.code for term in terms]
    _require(len(codes) == len(set(codes)), "có mã thuật ngữ bị trùng")
    for term in terms:
        _require(
            term.parent is None or term.parent in codes, f"'{term.code}' có 'parent' không tồn tại"
        )
    uncovered = [topic for topic in HELP_TOPICS if not any(topic in term.topics for term in terms)]
    _require(not uncovered, f"chủ đề chưa có thuật ngữ nào: {', '.join(uncovered)}")
    return Taxonomy(
        str(document.get("taxonomy", "hotline-vn")),
        str(document.get("language", "vi")),
        labels,
        tuple(terms),
    )


@cache
def read_taxonomy(path: Path = TAXONOMY_FILE) -> Taxonomy:
    """Read and check the taxonomy file (once per process)."""
    with path.open(encoding="utf-8") as handle:
        return parse_taxonomy(yaml.safe_load(handle))


def check_topic(topic: str | None) -> str:
    """Return `topic` if it is a help topic; otherwise raise with the list of valid ones."""
    if topic in HELP_TOPICS:
        return str(topic)
    shown = (topic or "")[:40]
    raise UnknownTopicError(
        f"Chủ đề '{shown}' không có trong danh mục. Các chủ đề hợp lệ: {', '.join(HELP_TOPICS)}."
    )


def topic_label(topic: str) -> str:
    """The words for `topic` in a reply, e.g. "bảo vệ trẻ em"."""
    return read_taxonomy().topic_labels.get(topic, topic)


def _parents_first(terms: tuple[Term, ...]) -> list[Term]:
    """Order terms so that each parent comes before its children (the file may not)."""
    placed: set[str] = set()
    ordered: list[Term] = []
    pending = list(terms)
    while pending:
        ready = [term for term in pending if term.parent is None or term.parent in placed]
        if not ready:
            raise TaxonomyFileError(f"{TAXONOMY_FILE.name}: vòng lặp 'parent' giữa các thuật ngữ")
        for term in ready:
            ordered.append(term)
            placed.add(term.code)
            pending.remove(term)
    return ordered


def load_taxonomy(session: Session, taxonomy: Taxonomy | None = None) -> int:
    """Insert or update every term of the taxonomy and its topics; returns the term count."""
    taxonomy = taxonomy or read_taxonomy()
    existing = {term.id: term for term in session.scalars(select(TaxonomyTerm))}
    for term in _parents_first(taxonomy.terms):
        row = existing.get(term.code) or TaxonomyTerm(id=term.code)
        row.code = term.code
        row.name = term.name
        row.description = term.description
        row.parent_id = term.parent
        row.taxonomy = taxonomy.name
        row.language = taxonomy.language
        session.add(row)
        session.flush()
        session.execute(
            delete(TaxonomyTermTopic).where(TaxonomyTermTopic.taxonomy_term_id == term.code)
        )
        for topic in term.topics:
            session.add(TaxonomyTermTopic(taxonomy_term_id=term.code, topic=topic))
    session.flush()
    return len(taxonomy.terms)
