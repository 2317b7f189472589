"""A low-balance alert links to the credits page, in the bell and in the e-mail; times read
"just now", not "0 minutes ago" (issue 19)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from credits.services import credit_debit, credit_grant
from customers.services import customer_settings_update
from msp_portal.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def crossed(tenant_a, catalog_admin, django_capture_on_commit_callbacks):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=True, alert_threshold=15
    )
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("30"), reason="PO")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        credit_debit(
            actor=None, customer=customer, amount=Decimal("20"), reason="r", idempotency_key="k"
        )
    return customer


def test_the_alert_links_to_the_customers_credits_page(crossed, tenant_a):
    page = reverse("credits:account_detail", args=[crossed.pk])
    note = Notification.objects.get(user=tenant_a["admin"])
    assert note.url == page
    admin_mail = next(m for m in mail.outbox if m.to == [tenant_a["admin"].email])
    assert f"{settings.PORTAL_BASE_URL.rstrip('/')}{page}" in admin_mail.body


def test_the_bell_links_the_alert_and_says_just_now(client, crossed, tenant_a):
    client.force_login(tenant_a["admin"])
    content = client.get(reverse("credits:notification_menu")).content.decode()
    item = content.split('data-testid="notification-item"')[1]
    assert f'href="{reverse("credits:account_detail", args=[crossed.pk])}"' in item
    assert "just now" in item and "0\xa0minutes" not in item and "0 minutes" not in item


def test_older_alerts_say_how_long_ago(client, crossed, tenant_a):
    Notification.objects.filter(user=tenant_a["admin"]).update(
        created_at=timezone.now() - timedelta(hours=3, minutes=5)
    )
    client.force_login(tenant_a["admin"])
    content = client.get(reverse("credits:notification_menu")).content.decode()
    assert "3 hours ago" in content.split('data-testid="notification-item"')[1]
