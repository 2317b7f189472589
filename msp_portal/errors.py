"""Errors for people: each message says what is wrong and what to do next."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError

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


def run_and_say(request, use_case: Callable[[], object], *, done: str | Callable[[], str]) -> bool:
    """Run a use case for a page that redirects afterwards and say how it went: a NotAllowed is
    a 403, any other refusal a message saying why (nothing was changed), success the message
    `done` (or what `done()` says, made only then). Returns whether it went through."""
    try:
        use_case()
    except NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return False
    messages.success(request, done() if callable(done) else done)
    return True
