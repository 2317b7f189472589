"""E-mailing the in-app notifications: one place for the rule that each goes out once."""

from collections.abc import Callable, Iterable

from django.core.mail import send_mail
from django.utils import timezone

from .models import Notification


def notifications_mail(
    *,
    users: Iterable,
    key: str,
    body: Callable[[Notification], str] | None = None,
) -> int:
    """E-mail each of these users' notifications under `key` that has not gone yet, once however
    often this runs: each is claimed (mailed_at, a conditional UPDATE) before it is sent and
    released if the send fails, so a retry sends exactly what is still unsent; only a crash
    between the claim and the send loses a mail (the in-app notification stays). The mail is
    the notification's title and body, or `body(notification)`. Returns how many were sent."""
    unsent = (
        Notification.objects.filter(user__in=list(users), key=key, mailed_at__isnull=True)
        .exclude(user__email="")
        .select_related("user")
    )
    sent = 0
    for note in unsent:
        claimed = Notification.objects.filter(pk=note.pk, mailed_at__isnull=True).update(
            mailed_at=timezone.now()
        )
        if not claimed:
            continue  # another run is mailing it
        text = body(note) if body else note.body
        try:
            send_mail(note.title, text, None, [note.user.email], fail_silently=False)
        except Exception:
            Notification.objects.filter(pk=note.pk).update(mailed_at=None)
            raise
        sent += 1
    return sent
