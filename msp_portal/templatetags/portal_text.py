"""Template filters of text for people (msp_portal.text)."""

from django import template
from django.utils.safestring import SafeData, mark_safe

from msp_portal.text import one_full_stop as _one_full_stop

register = template.Library()


@register.filter(is_safe=True)
def one_full_stop(value):
    """A message whose name ends in a full stop gets no second one (see msp_portal.text)."""
    text = _one_full_stop(str(value))
    # Full stops are no markup: what was safe stays safe.
    return mark_safe(text) if isinstance(value, SafeData) else text  # noqa: S308
