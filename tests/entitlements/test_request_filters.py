"""The request list's filters (a django-filter FilterSet over the handler's scoped requests)."""

import csv
import io

import pytest
from django.urls import reverse

from entitlements.models import RequestStatus, ServiceRequest
from entitlements.services import request_submit, request_transition

pytestmark = pytest.mark.django_db

REFUSED = "Pick one from the list, or clear it."


def _submit(tenant, who="eve") -> ServiceRequest:
    return request_submit(
        actor=tenant[who], service=tenant["service"], quantity=1, justification="For the team"
    )


def _export_ids(response) -> list[str]:
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return [r[0] for r in rows[1:]]


def test_a_status_filter_narrows_the_page_and_the_export_alike(client, tenant_a):
    kept = _submit(tenant_a)
    cancelled = _submit(tenant_a, who="ed")
    request_transition(actor=tenant_a["ed"], request=cancelled, status=RequestStatus.CANCELLED)
    client.force_login(tenant_a["admin"])
    page = client.get(reverse("portal:request_list"), {"status": "cancelled"}).context["page"]
    assert page.rows == [cancelled]
    assert client.get(reverse("portal:request_list"), {"status": "open"}).context["page"].rows == [
        kept
    ]
    export = client.get(reverse("portal:request_export"), {"status": "cancelled"})
    assert _export_ids(export) == [str(cancelled.pk)]


def test_another_customers_service_is_not_offered_and_refused_beside_the_filter(
    client, tenant_a, tenant_b
):
    ours = _submit(tenant_a)
    _submit(tenant_b)
    client.force_login(tenant_a["admin"])
    url = reverse("portal:request_list")
    response = client.get(url)
    options = response.context["form"].fields["service"].queryset
    assert list(options) == [tenant_a["service"]]  # Phone, customer B's, is not offered
    response = client.get(url, {"service": tenant_b["service"].pk})
    assert response.status_code == 200
    assert response.context["page"].rows == [ours]  # the refused filter narrows nothing
    assert f"Service: {REFUSED}" in response.content.decode()
    export = client.get(reverse("portal:request_export"), {"service": tenant_b["service"].pk})
    assert _export_ids(export) == [str(ours.pk)]


@pytest.mark.parametrize("value", ["999999999", "١", "²", "-1", "99999999999999999999999"])
def test_a_customer_id_outside_the_choices_is_refused_for_a_catalog_administrator(
    client, tenant_a, tenant_b, catalog_admin, value
):
    ours, theirs = _submit(tenant_a), _submit(tenant_b)
    client.force_login(catalog_admin)
    response = client.get(reverse("portal:request_list"), {"customer": value})
    assert response.status_code == 200
    assert set(response.context["page"].rows) == {ours, theirs}
    assert f"Customer: {REFUSED}" in response.content.decode()


def test_the_customer_filter_lists_only_customers_and_narrows(
    client, tenant_a, tenant_b, catalog_admin
):
    _submit(tenant_a)
    theirs = _submit(tenant_b)
    client.force_login(catalog_admin)
    url = reverse("portal:request_list")
    offered = client.get(url).context["form"].fields["customer"].queryset
    assert set(offered) == {tenant_a["customer"], tenant_b["customer"]}
    assert client.get(url, {"customer": tenant_b["customer"].pk}).context["page"].rows == [theirs]


def test_control_characters_in_the_requester_search_read_as_spaces(client, tenant_a):
    eves = _submit(tenant_a)
    _submit(tenant_a, who="ed")
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("portal:request_list"), {"requester": "acme\x1f-eve\t"})
    # "acme -eve": two words, both in Eve's login.
    assert response.context["page"].rows == [eves]
