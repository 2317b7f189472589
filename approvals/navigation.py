"""The Approvals entry of the navigation, for approvers, with its count (registered in ready())."""

from django.http import HttpRequest
from django.urls import reverse

from msp_portal.selectors import msp_mode_enabled

from .services import is_approver


def nav_items(request: HttpRequest) -> list[tuple[str, str, str, str]]:
    """(label, url, icon, badge url): the badge is drawn by htmx from its own URL, so no page
    pays for the count."""
    if request is None or not request.user.is_authenticated or not msp_mode_enabled():
        return []
    if not is_approver(request.user):
        return []
    return [
        (
            "Approvals",
            reverse("approvals:approval_list"),
            "check2-square",
            reverse("approvals:approval_count"),
        )
    ]
