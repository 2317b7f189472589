"""Who hears about a balance crossing a line, in the app and by e-mail (K5)."""

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.mail import send_mass_mail
from django.db.models import Q
from django.urls import reverse

from accounts.models import User
from customers.scope import administrator_users
from msp_portal.models import Notification
from msp_portal.notify import notifications_mail
from msp_portal.text import one_full_stop

from .models import CreditEntry

# A notification's title is its headline in the bell and the e-mail's subject; the body carries
# the whole text, so only the title has to fit its column.
TITLE_MAX = Notification._meta.get_field("title").max_length


def _headline(name: str, rest: str) -> str:
    """`name` followed by `rest`, the name shortened (never the rest) to fit a notification title.

    An ITSM company name may be as long as the mirror allows (254 characters), longer than a
    title can hold; cutting the name keeps the line crossed and the balance readable.
    """
    room = TITLE_MAX - len(rest)
    if len(name) > room:
        name = name[: max(room - 1, 0)].rstrip() + "…"
    return f"{name}{rest}"[:TITLE_MAX]


def catalog_administrators():
    perm = Permission.objects.get(codename="change_customer", content_type__app_label="customers")
    return User.objects.filter(
        Q(groups__permissions=perm) | Q(user_permissions=perm) | Q(is_superuser=True),
        is_active=True,
    ).distinct()


def _send(users, title: str, body: str, url: str = "", *, key: str = "") -> int:
    """Notify each user in the app and by e-mail; returns how many notifications are new.

    With a key, each user gets one notification under it however often this runs (a task
    redelivered after a worker crash, or sent again by the outbox), and one e-mail
    (msp_portal.notify.notifications_mail).
    """
    users = list(users)
    title, body = one_full_stop(title), one_full_stop(body)
    if not key:
        Notification.objects.bulk_create(
            Notification(user=u, title=title, body=body, url=url) for u in users
        )
        send_mass_mail(
            [(title, body, None, [u.email]) for u in users if u.email], fail_silently=False
        )
        return len(users)
    done = set(
        Notification.objects.filter(user__in=users, key=key).values_list("user_id", flat=True)
    )
    new = [u for u in users if u.pk not in done]
    # A duplicate run at the same moment meets the unique (user, key) constraint: ignored.
    Notification.objects.bulk_create(
        (Notification(user=u, title=title, body=body, url=url, key=key) for u in new),
        ignore_conflicts=True,
    )
    notifications_mail(users=users, key=key)
    return len(new)


def balance_alert_send(*, entry_id: int, line: str) -> int:
    """Notify the customer's administrators and catalog administrators of one crossing."""
    entry = CreditEntry.objects.select_related("account__customer__company").get(pk=entry_id)
    customer = entry.account.customer
    if line == "zero":
        rest = f": credit balance is below zero ({entry.balance_after:.2f})"
    else:
        rest = (
            f": credit balance below the alert threshold of {customer.alert_threshold:.2f} "
            f"({entry.balance_after:.2f})"
        )
    title = _headline(str(customer), rest)
    page = reverse("credits:account_detail", args=[customer.pk])
    body = (
        f"The credit balance of {customer} dropped from {entry.balance_after - entry.amount:.2f} to "
        f"{entry.balance_after:.2f} after: {entry.reason}. Ask your catalog administrator for more credits, "
        "or review the open requests.\n\n"
        f"The balance and its history: {settings.PORTAL_BASE_URL.rstrip('/')}{page}"
    )
    admins = administrator_users(customer)
    recipients = {*admins, *catalog_administrators()}
    return _send(recipients, title, body, page, key=f"credits.balance:{entry_id}:{line}")


def drift_alert_send(*, drifts) -> int:
    lines = "\n".join(f"- {d.customer}: balance {d.balance}, ledger {d.ledger_sum}" for d in drifts)
    return _send(
        catalog_administrators(),
        "Credit balances differ from their ledgers",
        f"The nightly check found:\n{lines}",
    )
