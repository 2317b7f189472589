"""Each form posts one CSRF token (issue 19): the template owns the token, crispy adds none."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _forms(content: str) -> list[str]:
    return re.findall(r"<form\b[^>]*method=\"post\"[^>]*>.*?</form>", content, flags=re.S)


def _assert_one_token_each(content: str) -> None:
    forms = _forms(content)
    assert forms
    for form in forms:
        assert form.count('name="csrfmiddlewaretoken"') == 1, form[:200]


def test_the_request_form_page_has_one_token(client, tenant_a):
    client.force_login(tenant_a["eve"])
    content = client.get(
        reverse("portal:service_detail", args=[tenant_a["service"].pk])
    ).content.decode()
    assert content.count('name="csrfmiddlewaretoken"') == len(_forms(content))
    _assert_one_token_each(content)


def test_staff_pages_with_crispy_forms_have_one_token_per_form(client, catalog_admin, tenant_a):
    from customers.models import Customer

    Customer.objects.filter(pk=tenant_a["customer"].pk).update(credit_management=True)
    client.force_login(catalog_admin)
    for url in (
        reverse("customers:customer_detail", args=[tenant_a["customer"].pk]),
        reverse("credits:account_detail", args=[tenant_a["customer"].pk]),
        reverse("catalog:service_create"),
    ):
        _assert_one_token_each(client.get(url).content.decode())
