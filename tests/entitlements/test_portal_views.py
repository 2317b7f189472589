"""The end user's catalog and service pages: only entitled services, search, chips, query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import ServiceStatus
from customers.services import customer_services_add
from entitlements.models import AudienceKind
from entitlements.services import (
    audience_rule_add,
    audience_rule_remove,
    marketplace_services_add,
)
from tests.catalog.factories import CategoryFactory, ServiceFactory
from tests.customers.factories import CustomerServiceFactory
from tests.entitlements.factories import (
    AudienceRuleFactory,
    MarketplaceFactory,
    MarketplaceServiceFactory,
)

pytestmark = pytest.mark.django_db


def _offer(tenant, *services):
    """Assign services to the tenant's customer and offer them in its "Standard" marketplace."""
    customer_services_add(actor=None, customer=tenant["customer"], services=list(services))
    marketplace_services_add(
        actor=tenant["admin"], marketplace=tenant["marketplace"], services=list(services)
    )


def _only_eve(tenant):
    """Narrow the "Standard" marketplace from everyone to Eve alone."""
    marketplace = tenant["marketplace"]
    audience_rule_remove(
        actor=tenant["admin"], marketplace=marketplace, rule=marketplace.rules.get()
    )
    audience_rule_add(
        actor=tenant["admin"], marketplace=marketplace, kind=AudienceKind.USER, user=tenant["eve"]
    )


def test_an_end_user_lands_on_the_catalog_after_login(client, end_user):
    client.force_login(end_user)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url == reverse("portal:catalog")


def test_the_catalog_shows_entitled_services_only(client, tenant_a, tenant_b):
    assigned_not_offered = ServiceFactory(name="Monitor")
    customer_services_add(
        actor=None, customer=tenant_a["customer"], services=[assigned_not_offered]
    )
    client.force_login(tenant_a["eve"])
    content = client.get(reverse("portal:catalog")).content.decode()
    assert "Laptop" in content
    assert "Phone" not in content  # customer B's
    assert "Monitor" not in content  # assigned but offered by no marketplace


def test_a_retired_service_leaves_the_catalog_at_once(client, tenant_a):
    service = tenant_a["service"]
    service.status = ServiceStatus.RETIRED
    service.save()
    client.force_login(tenant_a["eve"])
    content = client.get(reverse("portal:catalog")).content.decode()
    assert "Laptop" not in content and "No services are available to you yet" in content


def test_cards_show_category_price_free_and_a_request_button(client, tenant_a):
    vpn = ServiceFactory(name="VPN access", price=Decimal("0"), category__name="Network")
    _offer(tenant_a, vpn)
    client.force_login(tenant_a["eve"])
    content = client.get(reverse("portal:catalog")).content.decode()
    assert "Network" in content and "Free" in content
    assert "10</span>" in content and "credits each" in content
    assert reverse("portal:service_detail", args=[vpn.pk]) + "#request" in content
    assert 'aria-label="Request VPN access"' in content


def test_search_as_you_type_returns_the_matching_cards_only(client, tenant_a):
    _offer(tenant_a, ServiceFactory(name="VPN access", description="Remote network access"))
    client.force_login(tenant_a["eve"])
    response = client.get(
        reverse("portal:catalog"), {"q": "remote"}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content and 'id="results"' in content
    assert "VPN access" in content and "Laptop" not in content
    assert "1 of 2 services match" in content


def test_a_search_without_match_says_so_and_offers_everything_back(client, tenant_a):
    client.force_login(tenant_a["eve"])
    content = client.get(reverse("portal:catalog"), {"q": "zebra"}).content.decode()
    assert "No service matches “zebra”" in content
    assert "show all 1 service" in content


def test_category_chips_filter_the_cards(client, tenant_a):
    network = CategoryFactory(name="Network")
    _offer(tenant_a, ServiceFactory(name="VPN access", category=network))
    client.force_login(tenant_a["eve"])
    content = client.get(reverse("portal:catalog"), {"category": network.pk}).content.decode()
    assert 'data-testid="category-chips"' in content
    assert f'value="{network.pk}" id="category-{network.pk}" checked' in content
    cards = content.split('data-testid="catalog-cards"')[1]
    assert "VPN access" in cards and "Laptop" not in cards


def test_a_crafted_category_is_ignored(client, tenant_a, tenant_b):
    client.force_login(tenant_a["eve"])
    other = tenant_b["service"].category_id
    for value in (str(other), "abc", "-1"):
        response = client.get(reverse("portal:catalog"), {"category": value})
        assert response.status_code == 200 and "Laptop" in response.content.decode()


def test_the_empty_catalog_says_to_ask_the_administrator(client, tenant_a):
    _only_eve(tenant_a)
    client.force_login(tenant_a["ed"])
    content = client.get(reverse("portal:catalog")).content.decode()
    assert "No services are available to you yet" in content
    assert "Ask your administrator" in content and "Admin Acme" in content
    assert "Laptop" not in content


def test_the_catalog_pages_its_cards(client, tenant_a):
    _offer(tenant_a, *ServiceFactory.create_batch(30))
    client.force_login(tenant_a["eve"])
    first = client.get(reverse("portal:catalog"))
    assert first.context["page"].next_cursor == "24"
    assert len(first.context["page"].rows) == 24
    second = client.get(reverse("portal:catalog"), {"after": "24"})
    assert len(second.context["page"].rows) == 7 and second.context["page"].next_cursor is None


def _marketplaces(tenant, count: int, services_each: int) -> None:
    """Marketplaces for everyone and for Eve by name, each offering its own services."""
    customer = tenant["customer"]
    for _ in range(count):
        marketplace = MarketplaceFactory(customer=customer)
        AudienceRuleFactory(marketplace=marketplace, kind=AudienceKind.EVERYONE)
        AudienceRuleFactory(marketplace=marketplace, kind=AudienceKind.USER, user=tenant["eve"])
        for _ in range(services_each):
            assignment = CustomerServiceFactory(customer=customer)
            MarketplaceServiceFactory(marketplace=marketplace, assignment=assignment)


# The page layout (navigation, notifications) takes a few queries of its own; the bound leaves
# room for them, and the test below pins that the catalog adds none per marketplace or service.
CATALOG_QUERIES = 16


@pytest.mark.parametrize("marketplaces, services_each", [(1, 1), (40, 5)])
def test_the_catalog_query_count_is_bounded(
    client, tenant_a, django_assert_max_num_queries, marketplaces, services_each
):
    _marketplaces(tenant_a, marketplaces, services_each)
    client.force_login(tenant_a["eve"])
    with django_assert_max_num_queries(CATALOG_QUERIES):
        response = client.get(reverse("portal:catalog"))
    assert response.context["total"] == 1 + marketplaces * services_each
    with django_assert_max_num_queries(CATALOG_QUERIES):
        client.get(reverse("portal:catalog"), {"q": "service"}, headers={"HX-Request": "true"})


def test_the_catalog_costs_the_same_queries_with_1_or_40_marketplaces(client, tenant_a):
    client.force_login(tenant_a["eve"])
    _marketplaces(tenant_a, 1, 1)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("portal:catalog"))
    _marketplaces(tenant_a, 39, 5)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("portal:catalog"))
    assert response.context["total"] == 1 + 1 + 39 * 5
    assert len(large) == len(small)


@pytest.mark.parametrize("persona", ["catalog_admin", "system_admin", "plain_user"])
def test_people_who_are_not_end_users_get_403(client, request, tenant_a, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("portal:catalog")).status_code == 403
    url = reverse("portal:service_detail", args=[tenant_a["service"].pk])
    assert client.get(url).status_code in (403, 404)


def test_a_deactivated_end_user_is_sent_to_log_in(client, tenant_a):
    eve = tenant_a["eve"]
    eve.is_active = False
    eve.save()
    client.force_login(eve)
    response = client.get(reverse("portal:catalog"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


# --- Service detail ----------------------------------------------------------------------------


def test_the_detail_shows_description_price_limits_and_the_granting_marketplace(client, tenant_a):
    service = tenant_a["service"]
    service.description, service.min_quantity, service.max_quantity = "A fast one.", 1, 5
    service.save()
    client.force_login(tenant_a["eve"])
    response = client.get(reverse("portal:service_detail", args=[service.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "A fast one." in content and "1–5" in content
    assert "Marketplace <strong>Standard</strong>" in content
    assert "Everyone in the customer" in content
    assert 'name="quantity"' in content and 'name="justification"' in content
    assert "Required: this service costs credits" in content
    assert "10 credits" in content  # the total for the initial quantity of 1


def test_a_free_service_asks_for_no_justification(client, tenant_a):
    vpn = ServiceFactory(name="VPN access", price=Decimal("0"))
    _offer(tenant_a, vpn)
    client.force_login(tenant_a["eve"])
    content = client.get(reverse("portal:service_detail", args=[vpn.pk])).content.decode()
    assert "Optional: anything your administrator should know" in content
    assert "Free: no credits are charged" in content


def test_the_total_follows_the_quantity(client, tenant_a):
    client.force_login(tenant_a["eve"])
    url = reverse("portal:service_detail", args=[tenant_a["service"].pk])
    content = client.get(url, {"quantity": "3"}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in content and "30 credits" in content
    assert "is-valid" in content
    for quantity, problem in (("x", "Enter a whole number"), ("0", "Request at least 1.")):
        response = client.get(url, {"quantity": quantity}, headers={"HX-Request": "true"})
        content = response.content.decode()
        assert problem in content and "is-valid" not in content and "credits" not in content


def test_another_customers_service_is_404(client, tenant_a, tenant_b):
    client.force_login(tenant_a["eve"])
    url = reverse("portal:service_detail", args=[tenant_b["service"].pk])
    response = client.get(url)
    assert response.status_code == 404
    assert "Phone" not in response.content.decode()


def test_a_service_outside_the_users_audience_is_404(client, tenant_a):
    _only_eve(tenant_a)
    client.force_login(tenant_a["ed"])
    url = reverse("portal:service_detail", args=[tenant_a["service"].pk])
    assert client.get(url).status_code == 404
    assert client.get(reverse("portal:service_detail", args=[999_999])).status_code == 404


def test_a_customer_administrator_is_an_end_user_too(client, tenant_a):
    client.force_login(tenant_a["admin"])
    assert "Laptop" in client.get(reverse("portal:catalog")).content.decode()


def test_the_total_says_where_the_credits_come_from_under_credit_management(client, tenant_a):
    url = reverse("portal:service_detail", args=[tenant_a["service"].pk])
    client.force_login(tenant_a["eve"])
    assert "credits when you submit" not in client.get(url).content.decode()
    customer = tenant_a["customer"]
    customer.credit_management = True
    customer.save()
    content = client.get(url, {"quantity": "2"}, headers={"HX-Request": "true"}).content.decode()
    assert "20 credits" in content and "taken from Acme Corp's credits when you submit" in content


@pytest.mark.parametrize("value", ["²", "٣", "9" * 5000, "-3", "1e3", "\x00"])
def test_odd_query_values_never_break_the_catalog(client, tenant_a, value):
    client.force_login(tenant_a["eve"])
    for param in ("category", "after", "q"):
        response = client.get(reverse("portal:catalog"), {param: value})
        assert response.status_code == 200
