"""Customer-administrator pages: overview, marketplaces and audiences, entitlements by user,
explain access and the what-if confirmations — wiring, per persona, crafted input, query counts."""

import pytest
from django.urls import reverse

from customers.services import customer_services_add, end_user_filters_apply
from entitlements.access import visible_services
from entitlements.models import AudienceKind, AudienceRule, Marketplace, MarketplaceService
from entitlements.services import (
    audience_rule_add,
    marketplace_create,
    marketplace_services_add,
    request_submit,
)
from msp_portal.models import AuditEvent
from tests.catalog.factories import ServiceFactory
from tests.itsm_sync.factories import PersonFactory

pytestmark = pytest.mark.django_db


def _names(user) -> set[str]:
    return {v.service.name for v in visible_services(user=user)}


@pytest.fixture
def vpn(tenant_a):
    """A second service assigned to customer A but offered nowhere yet."""
    service = ServiceFactory(name="VPN access", price=0)
    customer_services_add(actor=None, customer=tenant_a["customer"], services=[service])
    return service


@pytest.fixture
def finance(tenant_a, vpn):
    """A marketplace offering VPN to the Finance organization only (Eve, not Ed)."""
    admin = tenant_a["admin"]
    marketplace = marketplace_create(actor=admin, customer=tenant_a["customer"], name="Finance")
    marketplace_services_add(actor=admin, marketplace=marketplace, services=[vpn])
    audience_rule_add(
        actor=admin, marketplace=marketplace, kind=AudienceKind.GROUP, organization="Finance"
    )
    return marketplace


@pytest.fixture
def admin_client(client, tenant_a):
    client.force_login(tenant_a["admin"])
    return client


# --- who may come in -------------------------------------------------------------------------


def test_the_overview_shows_the_customer_at_a_glance(admin_client, tenant_a, finance):
    request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=2, justification="For the team"
    )
    response = admin_client.get(reverse("entitlements:home"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Acme Corp" in content
    assert "Laptop" in content and "VPN access" in content
    assert "Standard" in content and "Finance" in content
    assert response.context["end_users_active"] == 3
    assert response.context["marketplaces_count"] == 2
    offered = {a.service.name: a.marketplaces_count for a in response.context["assignments"]}
    assert offered == {"Laptop": 1, "VPN access": 1}
    assert [r.requester for r in response.context["requests"]] == [tenant_a["eve"]]
    assert 'data-testid="credit-balance"' in content
    assert reverse("entitlements:access_by_user") in content


def test_a_customer_administrator_lands_on_the_overview(client, tenant_a):
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url == reverse("entitlements:home")


def test_another_customers_administrator_sees_only_their_own(client, tenant_a, tenant_b):
    client.force_login(tenant_b["admin"])
    content = client.get(reverse("entitlements:marketplace_list")).content.decode()
    assert "Bright Media" in content and "Acme Corp" not in content
    content = client.get(reverse("entitlements:access_by_user")).content.decode()
    assert "bright-eve" in content and "acme-eve" not in content


def test_outsider_gets_404_on_another_customers_marketplace(client, tenant_a, tenant_b):
    client.force_login(tenant_b["admin"])
    marketplace = tenant_a["marketplace"]
    for url in (
        reverse("entitlements:marketplace_detail", args=[marketplace.pk]),
        reverse("entitlements:marketplace_delete", args=[marketplace.pk]),
        reverse(
            "entitlements:audience_rule_remove", args=[marketplace.pk, marketplace.rules.get().pk]
        ),
    ):
        assert client.get(url).status_code == 404
    response = client.post(reverse("entitlements:marketplace_delete", args=[marketplace.pk]))
    assert response.status_code == 404
    assert Marketplace.objects.filter(pk=marketplace.pk).exists()


def test_end_user_gets_403(client, tenant_a):
    client.force_login(tenant_a["eve"])
    response = client.get(reverse("entitlements:home"))
    assert response.status_code == 403
    assert "for a customer's administrators" in response.content.decode()


def test_catalog_admin_without_acting_as_gets_403_telling_them_to_act_as(
    client, tenant_a, catalog_admin
):
    client.force_login(catalog_admin)
    response = client.get(reverse("entitlements:marketplace_list"))
    assert response.status_code == 403
    assert "Act as this customer" in response.content.decode()


def test_catalog_admin_acting_as_manages_the_customer_and_the_audit_records_it(
    client, tenant_a, catalog_admin
):
    client.force_login(catalog_admin)
    response = client.post(
        reverse("customers:switch_company"), {"customer": tenant_a["customer"].pk}
    )
    assert response.status_code == 302
    content = client.get(reverse("entitlements:marketplace_list")).content.decode()
    assert "Standard" in content and "Acting as customer" in content

    response = client.post(reverse("entitlements:marketplace_create"), {"name": "Staff made"})
    marketplace = Marketplace.objects.get(name="Staff made")
    assert marketplace.customer == tenant_a["customer"]
    assert response.url == reverse("entitlements:marketplace_detail", args=[marketplace.pk])
    client.post(
        reverse("entitlements:marketplace_services_add", args=[marketplace.pk]),
        {"services": [tenant_a["service"].pk]},
    )
    assert marketplace.offers.count() == 1
    for action in ("marketplace.create", "marketplace.services_add"):
        event = AuditEvent.objects.get(action=action, object_id=str(marketplace.pk))
        assert event.actor == catalog_admin
        assert event.acting_as_label == "Acme Corp"
        assert event.acting_as_customer_id == tenant_a["customer"].pk


# --- marketplaces -----------------------------------------------------------------------------


def test_creating_a_marketplace_leads_to_its_page(admin_client, tenant_a):
    response = admin_client.post(
        reverse("entitlements:marketplace_create"), {"name": "  Finance  ", "description": "Fin"}
    )
    marketplace = Marketplace.objects.get(customer=tenant_a["customer"], name="Finance")
    assert response.url == reverse("entitlements:marketplace_detail", args=[marketplace.pk])
    content = admin_client.get(response.url).content.decode()
    assert "Next: add services" in content


def test_a_duplicate_name_is_a_form_error(admin_client, tenant_a):
    response = admin_client.post(reverse("entitlements:marketplace_create"), {"name": "Standard"})
    assert response.status_code == 200
    assert "already has a marketplace with that name" in response.content.decode()


def test_a_name_used_by_another_customer_is_fine(admin_client, tenant_a, tenant_b):
    admin_client.post(reverse("entitlements:marketplace_create"), {"name": "Standard2"})
    response = admin_client.post(reverse("entitlements:marketplace_create"), {"name": "Standard2"})
    assert response.status_code == 200
    assert Marketplace.objects.filter(name="Standard").count() == 2


def test_renaming_a_marketplace(admin_client, tenant_a):
    marketplace = tenant_a["marketplace"]
    response = admin_client.post(
        reverse("entitlements:marketplace_rename", args=[marketplace.pk]),
        {"name": "Everyone's", "description": "For all"},
    )
    assert response.status_code == 302
    marketplace.refresh_from_db()
    assert (marketplace.name, marketplace.description) == ("Everyone's", "For all")


def test_the_detail_page_lists_services_audience_and_offerable_services(
    admin_client, tenant_a, vpn
):
    marketplace = tenant_a["marketplace"]
    response = admin_client.get(reverse("entitlements:marketplace_detail", args=[marketplace.pk]))
    assert [o.assignment.service for o in response.context["offers"]] == [tenant_a["service"]]
    assert [(d, reach) for _, d, reach in response.context["rules"]] == [
        ("Everyone in the customer", 3)
    ]
    assert response.context["offerable"] == [vpn]
    assert response.context["has_everyone"]


def test_the_service_picker_offers_only_assigned_published_services_not_offered_yet(
    admin_client, tenant_a, tenant_b, vpn
):
    ServiceFactory(name="VPN unassigned")
    draft = ServiceFactory(name="VPN draft")
    customer_services_add(actor=None, customer=tenant_a["customer"], services=[draft])
    draft.status = "draft"
    draft.save()
    url = reverse("entitlements:marketplace_service_options", args=[tenant_a["marketplace"].pk])
    content = admin_client.get(url, {"service_q": "vpn"}).content.decode()
    assert "VPN access" in content
    assert "VPN unassigned" not in content and "VPN draft" not in content
    content = admin_client.get(url, {"service_q": ""}).content.decode()
    assert "Laptop" not in content and "Phone" not in content


def test_adding_services_offers_them(admin_client, tenant_a, vpn):
    marketplace = tenant_a["marketplace"]
    response = admin_client.post(
        reverse("entitlements:marketplace_services_add", args=[marketplace.pk]),
        {"services": [vpn.pk]},
        follow=True,
    )
    assert "1 service added" in response.content.decode()
    assert "VPN access" in _names(tenant_a["ed"])


def test_a_crafted_post_offering_another_customers_service_changes_nothing(
    admin_client, tenant_a, tenant_b
):
    marketplace = tenant_a["marketplace"]
    response = admin_client.post(
        reverse("entitlements:marketplace_services_add", args=[marketplace.pk]),
        {"services": [tenant_b["service"].pk]},
        follow=True,
    )
    assert "not assigned to this customer" in response.content.decode()
    assert marketplace.offers.count() == 1


def test_removing_a_service_first_shows_who_would_lose_it(admin_client, tenant_a):
    marketplace, laptop = tenant_a["marketplace"], tenant_a["service"]
    url = reverse("entitlements:marketplace_service_remove", args=[marketplace.pk, laptop.pk])
    response = admin_client.get(url)
    losers = [user for user, _ in response.context["losses"]["rows"]]
    assert set(losers) == {tenant_a["admin"], tenant_a["eve"], tenant_a["ed"]}
    assert MarketplaceService.objects.filter(marketplace=marketplace).exists()

    response = admin_client.post(url)
    assert response.status_code == 302
    assert not marketplace.offers.exists()
    assert _names(tenant_a["eve"]) == set()


def test_a_service_given_by_another_marketplace_too_is_not_lost(
    admin_client, tenant_a, finance, vpn
):
    admin = tenant_a["admin"]
    marketplace_services_add(actor=admin, marketplace=tenant_a["marketplace"], services=[vpn])
    url = reverse("entitlements:marketplace_service_remove", args=[finance.pk, vpn.pk])
    response = admin_client.get(url)
    assert response.context["losses"]["count"] == 0
    assert "Nobody" in response.content.decode()


def test_removing_a_service_not_offered_is_404(admin_client, tenant_a, vpn):
    url = reverse(
        "entitlements:marketplace_service_remove", args=[tenant_a["marketplace"].pk, vpn.pk]
    )
    assert admin_client.get(url).status_code == 404


# --- audiences --------------------------------------------------------------------------------


@pytest.fixture
def empty_vpn_marketplace(tenant_a, vpn):
    admin = tenant_a["admin"]
    marketplace = marketplace_create(actor=admin, customer=tenant_a["customer"], name="VPN")
    marketplace_services_add(actor=admin, marketplace=marketplace, services=[vpn])
    return marketplace


def _add_rule(client, marketplace, **data):
    return client.post(reverse("entitlements:audience_rule_add", args=[marketplace.pk]), data)


def test_a_derived_group_audience_gives_access_to_that_group_only(
    admin_client, tenant_a, empty_vpn_marketplace
):
    response = _add_rule(
        admin_client, empty_vpn_marketplace, kind="group", organization="Finance", department=""
    )
    assert response.status_code == 302
    assert "VPN access" in _names(tenant_a["eve"])
    assert "VPN access" not in _names(tenant_a["ed"])
    rule = empty_vpn_marketplace.rules.get()
    assert rule.describe("Acme Corp") == "Group Acme Corp – Finance"


def test_a_department_must_belong_to_the_chosen_organization(
    admin_client, tenant_a, empty_vpn_marketplace
):
    response = _add_rule(
        admin_client, empty_vpn_marketplace, kind="group", organization="Finance", department="Desk"
    )
    assert response.status_code == 200
    assert "not a department of that organization" in response.content.decode()
    assert not empty_vpn_marketplace.rules.exists()


def test_an_organization_of_another_company_is_refused(
    admin_client, tenant_a, tenant_b, empty_vpn_marketplace
):
    PersonFactory(company=tenant_b["company"], organization="Bright secrets")
    response = _add_rule(
        admin_client, empty_vpn_marketplace, kind="group", organization="Bright secrets"
    )
    assert "not an organization of Acme Corp" in response.content.decode()
    assert not empty_vpn_marketplace.rules.exists()


def test_department_options_follow_the_organization(admin_client, tenant_a, tenant_b):
    PersonFactory(company=tenant_b["company"], organization="Finance", department="Bright Tax")
    response = admin_client.get(
        reverse("entitlements:department_options"), {"organization": "Finance"}
    )
    content = response.content.decode()
    assert "Payroll" in content and "Desk" not in content and "Bright Tax" not in content


def test_a_named_user_audience(admin_client, tenant_a, empty_vpn_marketplace):
    response = _add_rule(admin_client, empty_vpn_marketplace, kind="user", user=tenant_a["ed"].pk)
    assert response.status_code == 302
    assert "VPN access" in _names(tenant_a["ed"])
    assert "VPN access" not in _names(tenant_a["eve"])


def test_a_crafted_named_user_of_another_customer_is_refused(
    admin_client, tenant_a, tenant_b, empty_vpn_marketplace
):
    response = _add_rule(admin_client, empty_vpn_marketplace, kind="user", user=tenant_b["eve"].pk)
    assert "Choose one of this customer" in response.content.decode()
    assert not empty_vpn_marketplace.rules.exists()


def test_naming_the_same_user_twice_is_refused(admin_client, tenant_a, empty_vpn_marketplace):
    _add_rule(admin_client, empty_vpn_marketplace, kind="user", user=tenant_a["ed"].pk)
    response = _add_rule(admin_client, empty_vpn_marketplace, kind="user", user=tenant_a["ed"].pk)
    assert response.status_code == 200
    assert 'class="alert alert-danger' in response.content.decode()
    assert empty_vpn_marketplace.rules.count() == 1


def test_the_user_picker_searches_the_customers_active_end_users_only(
    admin_client, tenant_a, tenant_b, empty_vpn_marketplace
):
    audience_rule_add(
        actor=tenant_a["admin"],
        marketplace=empty_vpn_marketplace,
        kind=AudienceKind.USER,
        user=tenant_a["ed"],
    )
    url = reverse("entitlements:end_user_options")
    content = admin_client.get(url, {"user_q": "eve"}).content.decode()
    assert "acme-eve" in content and "bright-eve" not in content
    content = admin_client.get(
        url, {"user_q": "", "marketplace": empty_vpn_marketplace.pk}
    ).content.decode()
    assert "acme-eve" in content and "acme-ed" not in content


def test_the_user_picker_refuses_another_customers_marketplace(client, tenant_a, tenant_b):
    client.force_login(tenant_b["admin"])
    response = client.get(
        reverse("entitlements:end_user_options"), {"marketplace": tenant_a["marketplace"].pk}
    )
    assert response.status_code == 404


def test_an_attribute_filter_audience(admin_client, tenant_a, empty_vpn_marketplace):
    response = _add_rule(admin_client, empty_vpn_marketplace, kind="filter", organization=["IT"])
    assert response.status_code == 302
    assert empty_vpn_marketplace.rules.get().criteria == {"organization": ["IT"]}
    assert "VPN access" in _names(tenant_a["ed"])


def test_an_empty_filter_says_what_to_do(admin_client, tenant_a, empty_vpn_marketplace):
    response = _add_rule(admin_client, empty_vpn_marketplace, kind="filter")
    assert "Tick at least one value" in response.content.decode()


def test_everyone_and_an_unknown_kind(admin_client, tenant_a, empty_vpn_marketplace):
    assert _add_rule(admin_client, empty_vpn_marketplace, kind="everyone").status_code == 302
    assert "VPN access" in _names(tenant_a["ed"])
    response = _add_rule(admin_client, empty_vpn_marketplace, kind="nonsense")
    assert response.status_code == 302
    assert empty_vpn_marketplace.rules.count() == 1


def test_removing_a_rule_first_shows_who_would_lose_access(admin_client, tenant_a, finance):
    rule = finance.rules.get()
    url = reverse("entitlements:audience_rule_remove", args=[finance.pk, rule.pk])
    response = admin_client.get(url)
    assert [(u, [s.name for s in lost]) for u, lost in response.context["losses"]["rows"]] == [
        (tenant_a["eve"], ["VPN access"])
    ]
    assert "Eve" in response.content.decode()
    assert admin_client.post(url).status_code == 302
    assert not AudienceRule.objects.filter(pk=rule.pk).exists()
    assert "VPN access" not in _names(tenant_a["eve"])


def test_a_rule_of_another_marketplace_is_404(admin_client, tenant_a, finance):
    url = reverse(
        "entitlements:audience_rule_remove",
        args=[tenant_a["marketplace"].pk, finance.rules.get().pk],
    )
    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url).status_code == 404


def test_deleting_a_marketplace_lists_who_loses_what(admin_client, tenant_a, finance, vpn):
    marketplace_services_add(
        actor=tenant_a["admin"], marketplace=finance, services=[tenant_a["service"]]
    )
    url = reverse("entitlements:marketplace_delete", args=[finance.pk])
    response = admin_client.get(url)
    # Eve keeps Laptop through "Standard" (everyone); only VPN goes.
    assert [(u, [s.name for s in lost]) for u, lost in response.context["losses"]["rows"]] == [
        (tenant_a["eve"], ["VPN access"])
    ]
    response = admin_client.get(
        reverse("entitlements:marketplace_delete", args=[tenant_a["marketplace"].pk])
    )
    assert {
        u.username: [s.name for s in lost] for u, lost in response.context["losses"]["rows"]
    } == {"acme-admin": ["Laptop"], "acme-ed": ["Laptop"]}
    assert admin_client.post(url).url == reverse("entitlements:marketplace_list")
    assert not Marketplace.objects.filter(pk=finance.pk).exists()


# --- entitlements by user, explain ------------------------------------------------------------


def test_entitlements_by_user_shows_what_each_person_sees(admin_client, tenant_a, finance):
    response = admin_client.get(reverse("entitlements:access_by_user"))
    rows = {r["user"].username: [s.name for s in r["services"]] for r in response.context["rows"]}
    assert rows == {
        "acme-admin": ["Laptop"],
        "acme-eve": ["Laptop", "VPN access"],
        "acme-ed": ["Laptop"],
    }
    content = response.content.decode()
    explain = reverse("entitlements:explain")
    assert (
        f"{explain}?user={tenant_a['eve'].pk}&amp;service={finance.offers.get().assignment.service_id}"
        in content
    )


def test_entitlements_by_user_searches(admin_client, tenant_a):
    response = admin_client.get(
        reverse("entitlements:access_by_user"), {"q": "eve"}, headers={"HX-Request": "true"}
    )
    assert [r["user"].username for r in response.context["rows"]] == ["acme-eve"]
    assert "<html" not in response.content.decode()


def test_explain_gives_the_decision_chain(admin_client, tenant_a, finance, vpn):
    url = reverse("entitlements:explain")
    response = admin_client.get(url, {"user": tenant_a["eve"].pk, "service": vpn.pk})
    explanation = response.context["explanation"]
    assert explanation.visible and all(ok for ok, _ in explanation.steps)
    assert "bi-check-circle-fill" in response.content.decode()

    response = admin_client.get(url, {"user": tenant_a["ed"].pk, "service": vpn.pk})
    explanation = response.context["explanation"]
    assert not explanation.visible
    assert "audience does not include" in explanation.steps[-1][1]
    assert "Can't see" in response.content.decode()


def test_explain_without_a_pair_shows_the_question(admin_client, tenant_a):
    response = admin_client.get(reverse("entitlements:explain"), {"user": tenant_a["ed"].pk})
    assert response.context["explanation"] is None
    assert "Choose a person and a service" in response.content.decode()
    assert [v.service.name for v in response.context["visible"]] == ["Laptop"]


def test_explain_answers_404_for_another_customers_user_or_service(
    admin_client, tenant_a, tenant_b
):
    url = reverse("entitlements:explain")
    laptop, phone = tenant_a["service"], tenant_b["service"]
    assert admin_client.get(url, {"user": tenant_b["eve"].pk}).status_code == 404
    assert admin_client.get(url, {"service": phone.pk}).status_code == 404
    assert (
        admin_client.get(url, {"user": tenant_b["eve"].pk, "service": laptop.pk}).status_code == 404
    )
    assert admin_client.get(url, {"user": "x"}).status_code == 404


def test_explain_covers_deactivated_end_users(admin_client, tenant_a):
    ed = tenant_a["ed"]
    ed.is_active = False
    ed.save()
    response = admin_client.get(
        reverse("entitlements:explain"), {"user": ed.pk, "service": tenant_a["service"].pk}
    )
    assert "deactivated" in response.context["explanation"].steps[0][1]


# --- query counts -----------------------------------------------------------------------------


def _grow(tenant, n: int) -> None:
    admin, customer = tenant["admin"], tenant["customer"]
    for i in range(n):
        PersonFactory(
            company=tenant["company"], remedy_login_id=f"bulk{i}", organization=f"Org {i % 5}"
        )
    end_user_filters_apply(actor=None, customer=customer)
    for i in range(n):
        marketplace = marketplace_create(actor=admin, customer=customer, name=f"Market {i:03}")
        marketplace_services_add(actor=admin, marketplace=marketplace, services=[tenant["service"]])
        audience_rule_add(
            actor=admin,
            marketplace=marketplace,
            kind=AudienceKind.GROUP,
            organization=f"Org {i % 5}",
        )


@pytest.mark.parametrize("extra", [1, 60])
def test_marketplace_list_query_count_does_not_grow(
    admin_client, tenant_a, extra, django_assert_max_num_queries
):
    _grow(tenant_a, extra)
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("entitlements:marketplace_list"))
    assert len(response.context["rows"]) == min(extra + 1, 50)


@pytest.mark.parametrize("extra", [1, 60])
def test_access_by_user_query_count_does_not_grow(
    admin_client, tenant_a, extra, django_assert_max_num_queries
):
    _grow(tenant_a, extra)
    with django_assert_max_num_queries(14):
        response = admin_client.get(reverse("entitlements:access_by_user"))
    assert len(response.context["rows"]) == min(extra + 3, 50)
    assert all(r["services"] == [tenant_a["service"]] for r in response.context["rows"])
