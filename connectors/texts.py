"""The sentences the gateway says itself, read once at start from data files.

- `connectors/messages.yml`: the gateway's own messages (assistant unavailable, sticker
  received, too many messages...), reviewed by staff like the bot's domain.
- `bot/domain/crisis.yml`: `utter_crisis`, the emergency numbers. The gateway sends it
  when Rasa cannot, so the text has one source and is never copied into Python.

Usage:
    texts = load_texts()
    texts.crisis, texts.rate_limited
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from hotline.settings import REPO_ROOT

MESSAGES_FILE = Path(__file__).resolve().parent / "messages.yml"
CRISIS_FILE = REPO_ROOT / "bot" / "domain" / "crisis.yml"
CRISIS_RESPONSE = "utter_crisis"


@dataclass(frozen=True)
class GatewayTexts:
    """Every sentence the gateway may send on its own."""

    crisis: str
    assistant_unavailable: str
    assistant_unavailable_no_ticket: str
    unsupported_content: str
    empty_message: str
    rate_limited: str
    button_hint: str
    staff_joined: str
    returned_to_assistant: str
    escalation_notice: str
    callback_noted: str
    content_labels: dict[str, str]

    def label(self, kind: str) -> str:
        """How a message of this kind (`image`, `sticker`...) appears in the transcript."""
        return self.content_labels.get(kind) or self.content_labels["other"]


def load_crisis_text(path: Path = CRISIS_FILE) -> str:
    """The text of `utter_crisis` in the Rasa domain."""
    domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    variants = (domain.get("responses") or {}).get(CRISIS_RESPONSE) or []
    text = variants[0].get("text") if variants else None
    if not text:
        raise ValueError(f"{path} has no text for {CRISIS_RESPONSE}")
    return str(text)


def load_texts(
    messages_file: Path = MESSAGES_FILE, crisis_file: Path = CRISIS_FILE
) -> GatewayTexts:
    """All the gateway's texts; a missing one is an error at start, not in a conversation."""
    messages = yaml.safe_load(messages_file.read_text(encoding="utf-8")) or {}
    wanted = [f.name for f in fields(GatewayTexts) if f.name not in ("crisis", "content_labels")]
    missing = [name for name in wanted if not messages.get(name)]
    labels = messages.get("content_labels") or {}
    if "other" not in labels:
        missing.append("content_labels.other")
    if missing:
        raise ValueError(f"{messages_file} lacks {', '.join(missing)}")
    return GatewayTexts(
        crisis=load_crisis_text(crisis_file),
        content_labels={str(k): str(v) for k, v in labels.items()},
        **{name: str(messages[name]) for name in wanted},
    )
