"""Names shared with the Rasa domain (bot/domain/): intents, slots, responses.

Kept as constants so that a typo is an import error, not a silent no-op in a conversation.
"""

from __future__ import annotations

# intents
AFFIRM = "affirm"
DENY = "deny"
OUT_OF_SCOPE = "out_of_scope"
NLU_FALLBACK = "nlu_fallback"
REQUEST_HUMAN = "request_human"
HELP_TOPICS = (
    "emotional_support",
    "self_harm",
    "school_counseling",
    "family_conflict",
    "domestic_violence",
    "child_protection",
    "disaster_relief",
    "disability_support",
    "elderly_care",
    "addiction_support",
    "legal_aid",
    "social_allowance",
    "hiv_support",
    "volunteer_donate",
    "find_service",
)

# slots
TOPIC = "topic"
LOCATION = "location"
PROVINCE = "province"
COMMUNE = "commune"
AGE = "age"
TICKET_CODE = "ticket_code"
CALLBACK_PHONE = "callback_phone"
PENDING_QUESTION = "pending_question"
REQUESTED_SLOT = "requested_slot"

# values of PENDING_QUESTION: which yes/no question affirm and deny answer
QUESTION_HUMAN = "human"
QUESTION_DELETION = "deletion"
QUESTION_CALLBACK = "callback"

# the value of LOCATION when the person chose not to say where they are
LOCATION_SKIPPED = "không rõ"
