"""Endpoints: who may register which, what addresses and events are accepted, and the secret."""

import pytest
from django.core.exceptions import ValidationError
from standardwebhooks import Webhook

from msp_portal.errors import NotAllowed
from msp_portal.models import AuditEvent
from webhooks.models import Event, WebhookEndpoint
from webhooks.services import (
    webhook_endpoint_add,
    webhook_endpoint_change,
    webhook_endpoint_remove,
    webhook_secret_reveal,
    webhook_secret_rotate,
)

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/msp"


def _add(actor, customer, **kwargs):
    fields = {"url": URL, "events": [Event.REQUEST_CREATED], "description": "CRM"} | kwargs
    return webhook_endpoint_add(actor=actor, customer=customer, **fields)


def test_a_customer_administrator_registers_an_endpoint_for_their_customer(tenant_a):
    endpoint = _add(tenant_a["admin"], tenant_a["customer"], url=f"  {URL}  ")
    assert endpoint.customer == tenant_a["customer"]
    assert endpoint.url == URL
    assert endpoint.created_by == tenant_a["admin"]
    assert endpoint.secret.startswith("whsec_")
    Webhook(endpoint.secret)  # the library accepts it
    event = AuditEvent.objects.get(action="webhooks.endpoint_added")
    assert endpoint.secret not in str(event.after)


def test_each_endpoint_gets_its_own_secret(tenant_a):
    first, second = (
        _add(tenant_a["admin"], tenant_a["customer"]),
        _add(tenant_a["admin"], tenant_a["customer"]),
    )
    assert first.secret != second.secret


def test_a_customer_administrator_may_not_register_for_another_customer_or_catalog_wide(
    tenant_a, tenant_b
):
    with pytest.raises(NotAllowed, match="your own customer"):
        _add(tenant_a["admin"], tenant_b["customer"])
    with pytest.raises(NotAllowed, match="Only catalog administrators"):
        _add(tenant_a["admin"], None)
    assert not WebhookEndpoint.objects.exists()


def test_a_catalog_administrator_registers_catalog_wide_and_for_any_customer(
    catalog_admin, tenant_a
):
    wide = _add(catalog_admin, None, events=[Event.SYNC_RUN_FINISHED, Event.CREDITS_BELOW_ZERO])
    assert wide.customer is None
    assert _add(catalog_admin, tenant_a["customer"]).customer == tenant_a["customer"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "Enter the address of your receiver"),
        ("ftp://hooks.example.com/x", "must start with https://"),
        ("javascript:alert(1)", "must start with https://"),
        ("hooks.example.com/x", "must start with https://"),
        ("https://user:pw@hooks.example.com/x", "Leave the user name and password out"),
        ("https://hooks.example.com/x#frag", "Remove the part from #"),
        ("https://exa mple.com/", "not a valid web address"),
        ("https://" + "a" * 2000 + ".com/", "too long"),
    ],
)
def test_a_bad_address_is_refused_with_what_to_do(tenant_a, url, says):
    with pytest.raises(ValidationError) as caught:
        _add(tenant_a["admin"], tenant_a["customer"], url=url)
    assert says in " ".join(caught.value.message_dict["url"])
    assert not WebhookEndpoint.objects.exists()


def test_events_must_be_chosen_known_and_a_sync_run_is_catalog_wide_only(catalog_admin, tenant_a):
    for events, says in [
        ([], "Choose at least one event"),
        (["request.deleted"], "Choose events from the list"),
    ]:
        with pytest.raises(ValidationError) as caught:
            _add(tenant_a["admin"], tenant_a["customer"], events=events)
        assert says in " ".join(caught.value.message_dict["events"])
    with pytest.raises(ValidationError) as caught:
        _add(catalog_admin, tenant_a["customer"], events=[Event.SYNC_RUN_FINISHED])
    assert "catalog-wide endpoint" in " ".join(caught.value.message_dict["events"])
    assert not WebhookEndpoint.objects.exists()


def test_changing_removing_and_rotating_stay_within_scope(tenant_a, tenant_b):
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"])
    for action in (
        lambda: webhook_endpoint_change(
            actor=tenant_b["admin"], endpoint=endpoint, url=URL, events=["request.created"]
        ),
        lambda: webhook_endpoint_remove(actor=tenant_b["admin"], endpoint=endpoint),
        lambda: webhook_secret_rotate(actor=tenant_b["admin"], endpoint=endpoint),
        lambda: webhook_secret_reveal(actor=tenant_b["admin"], endpoint=endpoint),
    ):
        with pytest.raises(NotAllowed):
            action()
    assert WebhookEndpoint.objects.get() == endpoint


def test_rotating_gives_a_new_secret_and_revealing_is_audited(tenant_a):
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"])
    old = endpoint.secret
    rotated = webhook_secret_rotate(actor=tenant_a["admin"], endpoint=endpoint)
    assert rotated.secret != old and rotated.secret.startswith("whsec_")
    assert webhook_secret_reveal(actor=tenant_a["admin"], endpoint=endpoint) == rotated.secret
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"webhooks.secret_rotated", "webhooks.secret_revealed"} <= actions


def test_a_change_is_saved_and_audited(tenant_a):
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"])
    webhook_endpoint_change(
        actor=tenant_a["admin"],
        endpoint=endpoint,
        url="https://crm.example.com/in",
        events=[Event.REQUEST_STATUS_CHANGED, Event.REQUEST_CREATED],
        description="CRM",
        active=False,
    )
    endpoint.refresh_from_db()
    assert endpoint.url == "https://crm.example.com/in"
    assert endpoint.events == ["request.created", "request.status_changed"]
    assert endpoint.active is False
    assert AuditEvent.objects.filter(action="webhooks.endpoint_changed").exists()
