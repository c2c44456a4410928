"""Errors of the helpdesk, each with a stable `code` and a Vietnamese message.

The messages are Vietnamese because they reach staff (the console and the staff API show
`str(error)` as it is); `code` is what programs and tests compare.
"""

from __future__ import annotations


class HelpdeskError(Exception):
    """A request the helpdesk refuses; `str(error)` is the message to show."""

    code = "helpdesk_error"


class InvalidTransitionError(HelpdeskError):
    """The ticket or conversation is not in a state that allows this change."""

    code = "invalid_transition"

    def __init__(self, message: str, *, current: str) -> None:
        super().__init__(message)
        self.current = current


class TicketAlreadyClaimedError(InvalidTransitionError):
    """Another staff member claimed the ticket first."""

    code = "ticket_already_claimed"

    def __init__(self, ticket_code: str, assignee: str | None) -> None:
        who = f"nhân viên {assignee}" if assignee else "một nhân viên khác"
        super().__init__(f"Yêu cầu {ticket_code} đã được {who} nhận.", current="assigned")
        self.assignee = assignee


class TicketMismatchError(HelpdeskError):
    """The ticket does not belong to the conversation it was used with."""

    code = "ticket_mismatch"


class StaffAccountError(HelpdeskError):
    """A staff account cannot be created or used as asked."""

    code = "staff_account"


class InvalidPhoneNumberError(HelpdeskError):
    """The text is not a Vietnamese phone number a staff member could call back."""

    code = "invalid_phone_number"


class UnknownOutcomeError(HelpdeskError):
    """The outcome given to resolve a ticket is not one of `tickets.OUTCOMES`."""

    code = "unknown_outcome"


class HelpdeskConfigurationError(HelpdeskError):
    """A setting the helpdesk needs is missing (e.g. the anonymization salt in production)."""

    code = "configuration"


class NoteError(HelpdeskError):
    """A private note is empty, too long, or on a ticket whose personal data is gone."""

    code = "invalid_note"


class CannedReplyError(HelpdeskError):
    """A canned reply does not exist, or would have an empty or too long title or text."""

    code = "invalid_canned_reply"
