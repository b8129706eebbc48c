"""Errors of the domain core (领域错误).

Every error carries a bilingual `Message` (`.message.zh`, `.message.en`); `str(error)` is
"中文 / English", fit to show to a person. The hierarchy::

    DomainError
    ├── IdNumberError        resident ID number invalid; `.part` names the wrong part
    ├── DivisionError        division code malformed or unknown
    ├── CatalogError         catalog file invalid; `.entries` are "file:line: message"
    ├── CalendarError        no working-day data for a date, or a bad override file
    ├── TransitionError      a status change the role may not make
    ├── DocumentError        a document without a field its type needs, or a field of the wrong type
    └── IdentifierError      a document id that is not ours
        └── TrackingCodeError  tracking code mistyped; `.part` names what is wrong
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.text import Message


class DomainError(Exception):
    """Root of the domain core's errors."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


class IdNumberError(DomainError):
    """A resident ID number (居民身份证号码) is invalid."""

    def __init__(self, part: str, message: Message) -> None:
        super().__init__(message)
        self.part = part


class DivisionError(DomainError):
    """A division code (区划代码) is malformed or unknown."""


class CatalogError(DomainError):
    """A service catalog (事项目录) file is invalid; one entry per problem found."""

    def __init__(self, entries: Sequence[str]) -> None:
        self.entries: tuple[str, ...] = tuple(entries)
        listing = "\n".join(self.entries)
        super().__init__(
            Message(
                f"事项目录有 {len(self.entries)} 处错误：\n{listing}",
                f"The catalog has {len(self.entries)} error(s):\n{listing}",
            )
        )


class CalendarError(DomainError):
    """No working-day data for a date, or a bad calendar override file."""


class TransitionError(DomainError):
    """A status change (状态流转) the role may not make."""


class DocumentError(DomainError):
    """A document (文档) that does not have the shape of its type; `.field` names the field."""

    def __init__(self, field: str, message: Message) -> None:
        super().__init__(message)
        self.field = field


class IdentifierError(DomainError):
    """A document id that does not follow our `<type>:<ULID>` scheme."""


class TrackingCodeError(IdentifierError):
    """A tracking code (查询码) that is mistyped; `.part` is "length", "characters" or "check"."""

    def __init__(self, part: str, message: Message) -> None:
        super().__init__(message)
        self.part = part
