"""Errors of the service directory, each carrying a message a person can act on.

The messages are Vietnamese because they reach people: the command line prints them
as they are, and the actions may relay them.
"""

from __future__ import annotations

from dataclasses import dataclass


class DirectoryError(ValueError):
    """Bad input to the directory; `str(error)` is the message to show."""


class PlaceTextError(DirectoryError):
    """The place text cannot be read at all (empty, too long, control characters)."""


class UnknownTopicError(DirectoryError):
    """The topic is not one of the help topics of the taxonomy."""


class DirectoryNotReadyError(DirectoryError):
    """The database has no directory tables or no data yet."""


@dataclass(frozen=True)
class RowProblem:
    """One reason an import file was refused: where, and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class ImportRejectedError(DirectoryError):
    """An import was refused; nothing was written. `problems` lists every bad row."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        super().__init__(
            f"Tệp nhập có {len(problems)} lỗi; chưa ghi gì vào danh bạ.\n"
            + "\n".join(str(problem) for problem in problems)
        )
