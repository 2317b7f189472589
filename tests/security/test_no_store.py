"""Pages and exports of a signed-in person are never kept by a browser or a shared cache."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _no_store(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives and "public" not in directives


def test_a_signed_in_page_is_not_stored(client, system_admin):
    client.force_login(system_admin)
    response = client.get(reverse("audit_event_list"))
    assert response.status_code == 200
    assert _no_store(response)


def test_the_ledger_csv_is_not_stored(client, catalog_admin, tenant_a):
    client.force_login(catalog_admin)
    response = client.get(reverse("credits:ledger_export", kwargs={"pk": tenant_a["customer"].pk}))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert _no_store(response)


def test_the_requests_csv_is_not_stored(client, tenant_a):
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("portal:request_export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert _no_store(response)


def test_refusals_and_redirects_of_a_signed_in_person_are_not_stored(client, tenant_a):
    client.force_login(tenant_a["eve"])
    assert _no_store(client.get(reverse("audit_event_list")))  # 403
    assert _no_store(client.get(reverse("home")))  # 302 to her catalog


def test_the_answer_to_a_successful_sign_in_is_not_stored(system_admin):
    response = Client().post(reverse("login"), {"username": "sysadmin", "password": PASSWORD})
    assert response.status_code == 302
    assert _no_store(response)
