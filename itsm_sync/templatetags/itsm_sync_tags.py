"""Template tags of the ITSM mirror pages."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..models import RecordStatus

register = template.Library()

_STATUS_CLASS = {
    RecordStatus.ENABLED: "status-succeeded",
    RecordStatus.PROPOSED: "status-dry",
    RecordStatus.OFFLINE: "status-partial",
}
_GONE = format_html(
    ' <span class="badge status-badge status-failed" title="{}">Gone from source</span>',
    "A full sync no longer found it in the source",
)


@register.simple_tag
def record_status(status: str, active: bool) -> SafeString:
    """An ITSM record's status badge, and "Gone from source" once a full sync missed it.

    A tag, not an include: the directories draw one per row.
    """
    badge = format_html(
        '<span class="badge status-badge {}">{}</span>',
        _STATUS_CLASS.get(status, "status-retired"),
        status,
    )
    return badge if active else format_html("{}{}", badge, _GONE)
