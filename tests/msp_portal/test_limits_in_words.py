"""Every limit of a form is the server's to say, in words that say what to do (issue 19):
no text cut at a maxlength the browser enforces silently, no number input that drops letters or
refuses in the browser's words, no raw Django message."""

import re

import pytest
from django.urls import reverse

from customers.models import EndUserFilter
from customers.services import end_user_filter_save

pytestmark = pytest.mark.django_db

RAW_DJANGO = re.compile(
    r"Ensure this value|Ensure that there are no more|already exists\.|Enter a number\.|"
    r"Enter a whole number\.|Ensure this value is (greater|less)"
)


def _inputs(content: str) -> list[str]:
    return re.findall(r"<(?:input|textarea)\b[^>]*>", content)


def _pages(tenant_a) -> dict[str, str]:
    customer = tenant_a["customer"]
    return {
        "customer_add": reverse("customers:customer_add"),
        "customer_detail": reverse("customers:customer_detail", args=[customer.pk]),
        "filter_add": reverse("customers:end_user_filter_add", args=[customer.pk]),
        "credits": reverse("credits:account_detail", args=[customer.pk]),
        "service_create": reverse("catalog:service_create"),
        "category_list": reverse("catalog:category_list"),
    }


def test_no_form_leaves_a_limit_to_the_browser(client, catalog_admin, tenant_a):
    client.force_login(catalog_admin)
    for name, url in _pages(tenant_a).items():
        for tag in _inputs(client.get(url).content.decode()):
            assert "maxlength" not in tag, (name, tag)
            assert 'type="number"' not in tag, (name, tag)
    client.force_login(tenant_a["eve"])
    url = reverse("portal:request_create", args=[tenant_a["service"].pk])
    for tag in _inputs(client.get(url).content.decode()):
        assert "maxlength" not in tag and 'type="number"' not in tag, tag


def test_a_pasted_category_name_too_long_is_refused_with_the_limit(client, catalog_admin):
    client.force_login(catalog_admin)
    response = client.post(reverse("catalog:category_list"), {"name": "W" * 130})
    content = response.content.decode()
    assert "at most 120 characters" in content and "this has 130" in content
    assert not RAW_DJANGO.search(content)


def test_a_pasted_justification_too_long_is_refused_with_the_limit(client, tenant_a):
    client.force_login(tenant_a["eve"])
    url = reverse("portal:request_create", args=[tenant_a["service"].pk])
    content = client.post(url, {"quantity": "1", "justification": "x" * 2100}).content.decode()
    assert "at most 2,000 characters" in content and "this has 2100" in content
    assert not RAW_DJANGO.search(content)


def test_a_second_filter_of_the_same_name_is_refused_in_words(client, catalog_admin, tenant_a):
    customer = tenant_a["customer"]
    client.force_login(catalog_admin)
    content = client.post(
        reverse("customers:end_user_filter_add", args=[customer.pk]), {"name": "Everyone"}
    ).content.decode()
    assert "already has a filter named “Everyone”" in content
    assert not RAW_DJANGO.search(content)
    assert EndUserFilter.objects.filter(customer=customer).count() == 1


def test_the_filter_service_refuses_a_name_taken_in_any_case(catalog_admin, tenant_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        end_user_filter_save(
            actor=catalog_admin, customer=tenant_a["customer"], name=" everyone ", criteria={}
        )
    assert refused.value.message_dict["name"] == [
        "This customer already has a filter named “Everyone”: choose another name, or edit "
        "that filter."
    ]


@pytest.mark.parametrize(
    ("amount", "said"),
    [
        ("99999999999999", "Enter a number below 10,000,000,000"),
        ("1.005", "at most 2 decimal places"),
        ("ten", "Enter a number, such as 100 or 12.50"),
        ("0", "Enter 0.01 or more"),
    ],
)
def test_a_grant_out_of_bounds_is_refused_in_words(client, catalog_admin, tenant_a, amount, said):
    customer = tenant_a["customer"]
    type(customer).objects.filter(pk=customer.pk).update(credit_management=True)
    client.force_login(catalog_admin)
    content = client.post(
        reverse("credits:grant", args=[customer.pk]),
        {"grant-amount": amount, "grant-reason": "PO", "grant-idempotency_key": "k"},
    ).content.decode()
    assert said in content
    assert not RAW_DJANGO.search(content)


def test_a_minimum_quantity_below_one_is_refused_by_the_server(client, catalog_admin):
    from tests.catalog.factories import CategoryFactory

    category = CategoryFactory()
    client.force_login(catalog_admin)
    content = client.post(
        reverse("catalog:service_create"),
        {"name": "Desk", "category": category.pk, "price": "1", "min_quantity": "-3"},
    ).content.decode()
    assert not RAW_DJANGO.search(content)
    assert "Enter 1 or more" in content or "at least 1" in content
