"""Template filters of text for people (msp_portal.text)."""

from django import template
from django.utils import timezone
from django.utils.safestring import SafeData, mark_safe

from msp_portal.text import one_full_stop as _one_full_stop

register = template.Library()


@register.filter(is_safe=True)
def one_full_stop(value):
    """A message whose name ends in a full stop gets no second one (see msp_portal.text)."""
    text = _one_full_stop(str(value))
    # Full stops are no markup: what was safe stays safe.
    return mark_safe(text) if isinstance(value, SafeData) else text  # noqa: S308


@register.filter
def ago(value) -> str:
    """How long ago a moment was, in words: "just now" under a minute, else "5 minutes ago",
    "2 days ago" (the largest unit only); "" for no moment."""
    if not value:
        return ""
    seconds = (timezone.now() - value).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size in (
        ("year", 365 * 86400),
        ("month", 30 * 86400),
        ("week", 7 * 86400),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
    ):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"
