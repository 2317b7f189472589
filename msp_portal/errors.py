"""Errors for people: each message says what is wrong and what to do next."""

from django.core.exceptions import ValidationError

from .text import one_full_stop


class DomainError(ValidationError):
    """A use case refused; forms and the admin show its messages as they are."""

    def __init__(self, *messages: str):
        super().__init__([one_full_stop(str(m)) for m in messages])

    def __str__(self) -> str:
        return " ".join(self.messages)


class NotAllowed(DomainError):
    """The actor lacks the role or scope for this use case (403 in a view)."""


class MspModeRequired(DomainError):
    """The use case exists only while MSP mode is on (M5)."""


class MspModeForbids(DomainError):
    """The use case is closed once MSP mode is on (M3)."""
