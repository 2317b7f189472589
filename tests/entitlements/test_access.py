"""Rules E1–E3 at the service level, with crafted cross-customer attempts."""

import pytest

from catalog.models import ServiceStatus
from customers.services import customer_service_remove, customer_services_add
from entitlements.access import (
    catalog_entries,
    explain_access,
    visible_services,
    who_would_lose_access,
)
from entitlements.models import AudienceKind, ServiceRequest
from entitlements.services import (
    audience_rule_add,
    audience_rule_remove,
    marketplace_create,
    marketplace_service_remove,
    marketplace_services_add,
    request_submit,
)
from msp_portal.errors import DomainError, NotAllowed
from tests.catalog.factories import ServiceFactory
from tests.entitlements.factories import MarketplaceFactory

pytestmark = pytest.mark.django_db


def _names(user) -> list[str]:
    names = [v.service.name for v in visible_services(user=user)]
    # The catalog page lists through catalog_entries: always exactly the same services.
    assert [e.name for e in catalog_entries(user=user)] == names
    return names


def test_an_end_user_sees_what_a_marketplace_offers_to_everyone(tenant_a):
    assert _names(tenant_a["eve"]) == ["Laptop"]
    grant = visible_services(user=tenant_a["eve"])[0].grants[0]
    assert grant.marketplace == "Standard" and grant.rule == "Everyone in the customer"


def test_nobody_sees_another_customers_services(tenant_a, tenant_b):
    assert _names(tenant_b["eve"]) == ["Phone"]
    assert "Phone" not in _names(tenant_a["eve"])


def test_staff_and_deactivated_accounts_see_nothing(tenant_a, catalog_admin):
    eve = tenant_a["eve"]
    eve.is_active = False
    eve.save()
    assert _names(eve) == []
    assert _names(catalog_admin) == []


def test_named_users_groups_and_filters_narrow_the_audience(tenant_a):
    admin, customer = tenant_a["admin"], tenant_a["customer"]
    vpn = ServiceFactory(name="VPN")
    customer_services_add(actor=None, customer=customer, services=[vpn])
    for kind, kwargs, sees in [
        (AudienceKind.USER, {"user": tenant_a["ed"]}, {"ed"}),
        (AudienceKind.GROUP, {"organization": "Finance", "department": "Payroll"}, {"eve"}),
        (AudienceKind.FILTER, {"criteria": {"organization": ["IT"]}}, {"ed"}),
    ]:
        m = marketplace_create(actor=admin, customer=customer, name=f"Only {kind}")
        marketplace_services_add(actor=admin, marketplace=m, services=[vpn])
        audience_rule_add(actor=admin, marketplace=m, kind=kind, **kwargs)
        seeing = {who for who in ("eve", "ed") if "VPN" in _names(tenant_a[who])}
        assert seeing == sees, kind
        m.delete()


def test_a_marketplace_offers_only_services_assigned_to_its_customer(tenant_a, tenant_b):
    with pytest.raises(DomainError, match="Phone"):
        marketplace_services_add(
            actor=tenant_a["admin"],
            marketplace=tenant_a["marketplace"],
            services=[tenant_b["service"]],
        )


def test_an_administrator_cannot_touch_another_customers_marketplace(tenant_a, tenant_b):
    with pytest.raises(NotAllowed):
        marketplace_create(actor=tenant_b["admin"], customer=tenant_a["customer"], name="Sneaky")
    with pytest.raises(NotAllowed):
        audience_rule_add(
            actor=tenant_b["admin"], marketplace=tenant_a["marketplace"], kind=AudienceKind.EVERYONE
        )


def test_a_named_user_must_be_an_end_user_of_the_same_customer(tenant_a, tenant_b):
    with pytest.raises(DomainError, match="this customer's active end users"):
        audience_rule_add(
            actor=tenant_a["admin"],
            marketplace=tenant_a["marketplace"],
            kind=AudienceKind.USER,
            user=tenant_b["eve"],
        )


def test_unassigning_a_service_stops_offering_it_at_once_and_keeps_requests(
    tenant_a, catalog_admin
):
    request = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="For the team"
    )
    customer_service_remove(
        actor=catalog_admin, customer=tenant_a["customer"], service=tenant_a["service"]
    )
    assert _names(tenant_a["eve"]) == []
    assert ServiceRequest.objects.filter(pk=request.pk).exists()


def test_retiring_a_service_hides_it_at_once(tenant_a):
    service = tenant_a["service"]
    service.status = ServiceStatus.RETIRED
    service.save()
    assert _names(tenant_a["eve"]) == []
    steps = explain_access(user=tenant_a["eve"], service=service).steps
    assert steps[-1] == (False, "Laptop is retired, not published.")


def test_the_explanation_gives_the_decision_chain(tenant_a):
    explanation = explain_access(user=tenant_a["eve"], service=tenant_a["service"])
    assert explanation.visible
    assert [ok for ok, _ in explanation.steps] == [True, True, True, True]
    assert (
        "Marketplace “Standard” offers it to Everyone in the customer" in explanation.steps[-1][1]
    )


def test_the_explanation_says_why_not(tenant_a, tenant_b):
    explanation = explain_access(user=tenant_a["eve"], service=tenant_b["service"])
    assert not explanation.visible
    assert explanation.steps[-1] == (False, "Phone is not assigned to Acme Corp.")


def test_what_if_lists_who_would_lose_access(tenant_a):
    offer = tenant_a["marketplace"].offers.get()
    losers = who_would_lose_access(customer=tenant_a["customer"], without_offer_id=offer.pk)
    assert {u.username for u, _ in losers} == {"acme-admin", "acme-eve", "acme-ed"}
    rule = tenant_a["marketplace"].rules.get()
    named = audience_rule_add(
        actor=tenant_a["admin"],
        marketplace=tenant_a["marketplace"],
        kind=AudienceKind.USER,
        user=tenant_a["ed"],
    )
    losers = who_would_lose_access(customer=tenant_a["customer"], without_rule_id=rule.pk)
    assert {u.username for u, _ in losers} == {"acme-admin", "acme-eve"}
    audience_rule_remove(actor=tenant_a["admin"], marketplace=tenant_a["marketplace"], rule=named)


def test_removing_a_service_from_a_marketplace_takes_effect_at_once(tenant_a):
    marketplace_service_remove(
        actor=tenant_a["admin"], marketplace=tenant_a["marketplace"], service=tenant_a["service"]
    )
    assert _names(tenant_a["eve"]) == []


@pytest.mark.parametrize("marketplaces", [1, 40])
def test_resolution_costs_the_same_queries_whatever_the_size(
    tenant_a, marketplaces, django_assert_max_num_queries
):
    customer = tenant_a["customer"]
    services = [ServiceFactory() for _ in range(marketplaces)]
    customer_services_add(actor=None, customer=customer, services=services)
    for i in range(marketplaces):
        m = MarketplaceFactory(customer=customer)
        marketplace_services_add(actor=tenant_a["admin"], marketplace=m, services=services[: i + 1])
        audience_rule_add(actor=tenant_a["admin"], marketplace=m, kind=AudienceKind.EVERYONE)
    eve = tenant_a["eve"]
    with django_assert_max_num_queries(6):
        names = [v.service.name for v in visible_services(user=eve)]
    assert len(names) == marketplaces + 1
    with django_assert_max_num_queries(4):
        assert len(catalog_entries(user=eve)) == marketplaces + 1
