"""The webhook pages: who sees what, adding with bad input, the secret, the delivery log and
Resend, and query counts that don't grow with the rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from msp_portal.models import AuditEvent
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

from .factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def _post_add(client, **data):
    fields = {"url": "https://hooks.example.com/in", "events": ["request.created"]} | data
    return client.post(reverse("webhooks:endpoint_add"), fields)


def test_a_customer_administrator_sees_only_their_customers_endpoints(client, tenant_a, tenant_b):
    mine = WebhookEndpointFactory(customer=tenant_a["customer"], description="Acme CRM")
    WebhookEndpointFactory(customer=tenant_b["customer"], description="Bright CRM")
    WebhookEndpointFactory(customer=None, description="MSP billing")
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("webhooks:endpoint_list"))
    assert [e.pk for e in response.context["page"].rows] == [mine.pk]
    assert "Bright CRM" not in response.content.decode()
    assert "MSP billing" not in response.content.decode()


def test_a_catalog_administrator_sees_every_endpoint(client, catalog_admin, tenant_a, tenant_b):
    WebhookEndpointFactory(customer=tenant_a["customer"])
    WebhookEndpointFactory(customer=tenant_b["customer"])
    WebhookEndpointFactory(customer=None)
    client.force_login(catalog_admin)
    response = client.get(reverse("webhooks:endpoint_list"))
    assert len(response.context["page"].rows) == 3
    assert "All customers" in response.content.decode()


def test_the_outsider_gets_404_on_another_customers_endpoint_and_delivery(
    client, tenant_a, tenant_b
):
    delivery = WebhookDeliveryFactory(endpoint__customer=tenant_a["customer"])
    client.force_login(tenant_b["admin"])
    assert (
        client.get(reverse("webhooks:endpoint_detail", args=[delivery.endpoint_id])).status_code
        == 404
    )
    assert client.post(reverse("webhooks:delivery_resend", args=[delivery.pk])).status_code == 404
    assert (
        client.post(
            reverse("webhooks:endpoint_secret_reveal", args=[delivery.endpoint_id])
        ).status_code
        == 404
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_a_customer_administrator_gets_404_on_a_catalog_wide_endpoint(client, tenant_a):
    endpoint = WebhookEndpointFactory(customer=None)
    client.force_login(tenant_a["admin"])
    assert client.get(reverse("webhooks:endpoint_detail", args=[endpoint.pk])).status_code == 404


def test_an_end_user_gets_403(client, tenant_a):
    client.force_login(tenant_a["eve"])
    response = client.get(reverse("webhooks:endpoint_list"))
    assert response.status_code == 403


def test_adding_shows_the_secret_once_then_hides_it(client, tenant_a):
    client.force_login(tenant_a["admin"])
    response = _post_add(client, description="Acme CRM")
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    assert endpoint.customer == tenant_a["customer"]
    page = client.get(response.url).content.decode()
    assert endpoint.secret in page
    again = client.get(response.url).content.decode()
    assert endpoint.secret not in again
    assert "Show secret" in again


def test_show_secret_reveals_it_and_is_audited(client, tenant_a):
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"])
    client.force_login(tenant_a["admin"])
    response = client.post(reverse("webhooks:endpoint_secret_reveal", args=[endpoint.pk]))
    assert endpoint.secret in client.get(response.url).content.decode()
    assert AuditEvent.objects.filter(action="webhooks.secret_revealed").exists()


def test_replace_secret_shows_the_new_one(client, tenant_a):
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"])
    client.force_login(tenant_a["admin"])
    response = client.post(reverse("webhooks:endpoint_secret_rotate", args=[endpoint.pk]))
    endpoint_after = WebhookEndpoint.objects.get()
    assert endpoint_after.secret != endpoint.secret
    page = client.get(response.url).content.decode()
    assert endpoint_after.secret in page and endpoint.secret not in page


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"url": "ftp://x.example.com/"}, "must start with https://"),
        ({"url": ""}, "This field is required"),
        ({"url": "https://u:p@x.example.com/"}, "Leave the user name and password out"),
        ({"events": []}, "Choose at least one event"),
        ({"events": ["sync_run.finished"]}, "is not one of the available choices"),
    ],
)
def test_bad_input_says_what_to_do_and_writes_nothing(client, tenant_a, data, says):
    client.force_login(tenant_a["admin"])
    response = _post_add(client, **data)
    assert response.status_code == 200
    assert says in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_customer_administrator_cannot_post_another_customer(client, tenant_a, tenant_b):
    client.force_login(tenant_a["admin"])
    _post_add(client, customer=tenant_b["customer"].pk)
    assert WebhookEndpoint.objects.get().customer == tenant_a["customer"]


def test_a_catalog_administrator_adds_a_catalog_wide_endpoint(client, catalog_admin, tenant_a):
    client.force_login(catalog_admin)
    response = _post_add(client, customer="", events=["sync_run.finished", "credits.below_zero"])
    assert response.status_code == 302
    assert WebhookEndpoint.objects.get().customer is None


def test_editing_and_removing(client, tenant_a):
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"])
    client.force_login(tenant_a["admin"])
    response = client.post(
        reverse("webhooks:endpoint_edit", args=[endpoint.pk]),
        {"url": "https://new.example.com/in", "events": ["request.created"], "active": ""},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.active) == ("https://new.example.com/in", False)
    client.post(reverse("webhooks:endpoint_remove", args=[endpoint.pk]))
    assert not WebhookEndpoint.objects.exists()


def test_resend_from_the_log_queues_the_delivery_again(
    client, tenant_a, receiver, django_capture_on_commit_callbacks
):
    delivery = WebhookDeliveryFactory(
        endpoint__customer=tenant_a["customer"],
        endpoint__url=receiver.url,
        status=DeliveryStatus.FAILED,
        attempts=8,
        last_error="The receiver answered 500",
    )
    client.force_login(tenant_a["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhooks:delivery_resend", args=[delivery.pk]))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 1, "")
    assert [p.headers["webhook-id"] for p in receiver.accepted] == [delivery.msg_id]
    page = client.get(response.url).content.decode()
    assert "queued to be sent again" in page


def test_resend_on_a_switched_off_endpoint_says_to_switch_it_on(client, tenant_a):
    delivery = WebhookDeliveryFactory(
        endpoint__customer=tenant_a["customer"], endpoint__active=False
    )
    client.force_login(tenant_a["admin"])
    response = client.post(reverse("webhooks:delivery_resend", args=[delivery.pk]), follow=True)
    assert "switch it on first" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["catalog_admin", "customer_admin"])
def test_the_endpoint_list_costs_the_same_queries_at_2_and_60_endpoints(
    client, persona, catalog_admin, tenant_a, tenant_b
):
    user = catalog_admin if persona == "catalog_admin" else tenant_a["admin"]
    client.force_login(user)
    url = reverse("webhooks:endpoint_list")
    for customer in (tenant_a["customer"], None):
        WebhookEndpointFactory(customer=customer, created_by=tenant_a["admin"])
    client.get(url)  # warm per-process caches (permissions, content types)
    small = _count(client, url)
    for i in range(58):
        WebhookEndpointFactory(
            customer=[tenant_a["customer"], tenant_b["customer"], None][i % 3],
            created_by=[tenant_a["admin"], catalog_admin][i % 2],
        )
    large = _count(client, url)
    assert large == small
    assert large <= 12


def test_the_delivery_log_costs_the_same_queries_at_2_and_60_deliveries(client, tenant_a):
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"])
    client.force_login(tenant_a["admin"])
    url = reverse("webhooks:endpoint_detail", args=[endpoint.pk])
    WebhookDeliveryFactory.create_batch(2, endpoint=endpoint)
    client.get(url)
    small = _count(client, url)
    WebhookDeliveryFactory.create_batch(58, endpoint=endpoint, status=DeliveryStatus.FAILED)
    large = _count(client, url)
    assert large == small
    assert large <= 12
    rows = client.get(url).context["page"].rows
    assert len(rows) == 25  # one page of the log
    assert WebhookDelivery.objects.count() == 60
