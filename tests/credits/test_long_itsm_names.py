"""K5 and T2 hold whatever the ITSM sends: the longest names the mirror accepts lose no alert,
no ledger entry and no audit event."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from catalog.models import Service
from conftest import make_tenant
from credits.models import CreditEntry
from credits.services import credit_grant
from customers.services import customer_settings_update
from entitlements.models import ServiceRequest
from itsm_sync.models import Company, Person
from msp_portal.models import AuditEvent, Notification
from msp_portal.tenancy import ACTING_AS_SESSION_KEY

pytestmark = pytest.mark.django_db


def _longest(model, field: str, words: str) -> str:
    """A value as long as the mirror (or catalog) column allows, made of real-looking words."""
    size = model._meta.get_field(field).max_length
    return (words * (size // len(words) + 1))[:size]


COMPANY_NAME = _longest(Company, "name", "Société Générale des Grands Travaux & Associés Ltd. ")
SERVICE_NAME = _longest(Service, "name", "Ergonomic workstation with dual monitors ")


@pytest.fixture
def tenant(catalog_admin, msp_enabled):
    tenant = make_tenant(
        actor=catalog_admin, company_name=COMPANY_NAME, prefix="long", service_name=SERVICE_NAME
    )
    Person.objects.filter(company=tenant["company"]).update(
        first_name=_longest(Person, "first_name", "Maximiliane "),
        last_name=_longest(Person, "last_name", "Wolfeschlegelsteinhausen "),
        organization=_longest(Person, "organization", "Finance "),
    )
    customer_settings_update(
        actor=catalog_admin,
        customer=tenant["customer"],
        credit_management=True,
        alert_threshold=Decimal("50"),
    )
    credit_grant(
        actor=catalog_admin, customer=tenant["customer"], amount=Decimal("55"), reason="PO 1"
    )
    return tenant


def _request(client, tenant, quantity: int, key: str):
    client.force_login(tenant["eve"])
    return client.post(
        reverse("portal:request_create", args=[tenant["service"].pk]),
        {"quantity": str(quantity), "justification": "New hire", "submission_key": key},
    )


def test_the_longest_company_name_still_gets_its_low_balance_and_below_zero_alerts(
    client, tenant, catalog_admin, django_capture_on_commit_callbacks
):
    assert len(COMPANY_NAME) == Company._meta.get_field("name").max_length
    with django_capture_on_commit_callbacks(execute=True):
        response = _request(client, tenant, 1, "k" * 32)
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        response = _request(client, tenant, 5, "z" * 32)
    assert response.status_code == 302

    assert ServiceRequest.objects.count() == 2
    assert CreditEntry.objects.filter(kind="debit").count() == 2
    admin = tenant["admin"]
    notes = {n.key.rsplit(":", 1)[1]: n for n in Notification.objects.filter(user=admin)}
    assert set(notes) == {"threshold", "zero"}
    limit = Notification._meta.get_field("title").max_length
    assert all(len(n.title) <= limit for n in notes.values())
    # The headline keeps what matters (the line crossed and the balance); the body names the
    # customer in full.
    assert "below the alert threshold of 50.00 (45.00)" in notes["threshold"].title
    assert "below zero (-5.00)" in notes["zero"].title
    assert notes["threshold"].title.startswith(COMPANY_NAME[:40])
    assert all(COMPANY_NAME in n.body for n in notes.values())
    assert Notification.objects.filter(user=catalog_admin).count() == 2
    mailed = [m for m in mail.outbox if admin.email in m.to]
    assert len(mailed) == 2 and all(COMPANY_NAME in m.body for m in mailed)


def test_staff_acting_as_the_longest_named_customer_can_grant_and_it_is_recorded(
    client, tenant, catalog_admin
):
    client.force_login(catalog_admin)
    customer = tenant["customer"]
    session = client.session
    # What the switch-company view stores: the customer's name is its label.
    session[ACTING_AS_SESSION_KEY] = {"customer_id": customer.pk, "label": str(customer)}
    session.save()
    response = client.post(
        reverse("credits:grant", kwargs={"pk": customer.pk}),
        {"grant-amount": "10", "grant-reason": "PO 2", "grant-idempotency_key": "abc"},
    )
    assert response.status_code == 302
    entry = CreditEntry.objects.get(reason="PO 2")
    assert entry.acting_as_label == COMPANY_NAME
    event = AuditEvent.objects.filter(action="credits.grant").latest("id")
    assert event.acting_as_customer_id == customer.pk
    assert event.acting_as_label.startswith(COMPANY_NAME[:40])
