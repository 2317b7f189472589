"""Signed approve and reject links for e-mails: bound to one approver, one request and one step,
expiring after APPROVAL_LINK_MAX_AGE_DAYS, single-use through ApprovalLink.used_at."""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from msp_portal.errors import DomainError

from .models import ApprovalLink, LinkDecision

SALT = "approvals.link"


def max_age_days() -> int:
    return settings.APPROVAL_LINK_MAX_AGE_DAYS


def link_token(*, link: ApprovalLink, decision: str) -> str:
    """The signed token of one decision of a link (the payload names link, step, request and
    approver, so a token pasted into another request's address is refused)."""
    return signing.dumps(
        {
            "l": link.pk,
            "s": link.step_id,
            "r": link.step.request_id,
            "u": link.approver_id,
            "d": decision,
        },
        salt=SALT,
    )


def link_url(*, link: ApprovalLink, decision: str) -> str:
    """The full address of a decision link, for the e-mail."""
    path = reverse(
        "approvals:link_confirm",
        kwargs={"pk": link.step.request_id, "token": link_token(link=link, decision=decision)},
    )
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "j M Y, H:i")


class LinkRefused(DomainError):
    """A link that can't be used: tampered, expired, for another request, or used already."""


class LinkForeign(LinkRefused):
    """A link sent to another approver (403 on its page)."""


@dataclass
class CheckedLink:
    link: ApprovalLink
    decision: str


def link_read(*, token: str, request_pk: int, user) -> CheckedLink:
    """The link a token names, checked for its signature, age, request and approver."""
    what_to_do = "Open the Approvals page in the portal to decide the request there."
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age_days() * 86400)
    except signing.SignatureExpired:
        raise LinkRefused(
            f"This approval link has expired: links in approval e-mails work for "
            f"{max_age_days()} days. Nothing was changed. {what_to_do}"
        ) from None
    except signing.BadSignature:
        raise LinkRefused(
            "This approval link is not valid: it may have been cut short or changed on the way. "
            f"Nothing was changed. {what_to_do}"
        ) from None
    if not isinstance(data, dict) or data.get("d") not in LinkDecision.values:
        raise LinkRefused(f"This approval link is not valid. Nothing was changed. {what_to_do}")
    if data.get("r") != request_pk:
        raise LinkRefused(
            f"This approval link belongs to another request, not request #{request_pk}. "
            f"Nothing was changed. {what_to_do}"
        )
    link = (
        ApprovalLink.objects.select_related("step", "approver")
        .filter(pk=data.get("l"), step_id=data.get("s"), step__request_id=request_pk)
        .first()
    )
    if link is None:
        raise LinkRefused(f"This approval link is not valid. Nothing was changed. {what_to_do}")
    if link.approver_id != user.pk or data.get("u") != user.pk:
        raise LinkForeign(
            f"This approval link was sent to {link.approver.display_name}, not to you: each "
            "approver gets links of their own. Nothing was changed. Sign in as the person it was "
            "sent to, or decide on the Approvals page if the request is yours to decide."
        )
    if link.used_at is not None:
        raise LinkRefused(
            f"This approval link was used already, on {_when(link.used_at)}, and works only once. "
            "Nothing was changed. The request's page shows what was decided."
        )
    return CheckedLink(link=link, decision=data["d"])
