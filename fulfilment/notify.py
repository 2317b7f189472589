"""Telling the requester and the beneficiary what the service desk did, in the app and by mail."""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from entitlements.models import ServiceRequest
from msp_portal.models import Notification
from msp_portal.text import one_full_stop

TITLE_MAX = Notification._meta.get_field("title").max_length


def request_news_send(*, request: ServiceRequest, key: str, note: str = "") -> int:
    """One notification per person and piece of news (key), however often the poll reads it,
    and one e-mail each (claimed before it is sent)."""
    people = {request.requester}
    beneficiary = getattr(request, "beneficiary", None)
    if beneficiary is not None:
        people.add(beneficiary)
    page = reverse("portal:request_detail", args=[request.pk])
    service = request.service.name
    if note:
        title = f"Request #{request.pk} ({service}): a note from the service desk"
        body = f"The service desk wrote about request #{request.pk} for {service}:\n\n{note}"
    else:
        title = f"Request #{request.pk} ({service}) is {request.get_status_display().lower()}"
        body = f"Request #{request.pk} for {service} is now {request.get_status_display().lower()}."
        if request.status_note:
            body += f"\n\n{request.status_note}"
    body = one_full_stop(body) + f"\n\nThe request: {settings.PORTAL_BASE_URL.rstrip('/')}{page}"
    title = title[:TITLE_MAX]
    full_key = f"fulfilment:{request.pk}:{key}"[:100]
    made = 0
    for user in people:
        _note, created = Notification.objects.get_or_create(
            user=user, key=full_key, defaults={"title": title, "body": body, "url": page}
        )
        made += created
        if user.email and Notification.objects.filter(pk=_note.pk, mailed_at__isnull=True).update(
            mailed_at=timezone.now()
        ):
            try:
                send_mail(title, body, None, [user.email], fail_silently=False)
            except Exception:
                Notification.objects.filter(pk=_note.pk).update(mailed_at=None)
                raise
    return made
