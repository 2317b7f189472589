"""Home (issue 19): one entry per page in the menu, the staff home opens with the numbers an
administrator looks for first, and "Act as this customer" lands on that customer's overview."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from credits.services import credit_grant
from customers.services import customer_settings_update
from entitlements.services import request_submit
from itsm_sync.models import SyncKind, SyncRun, SyncStatus
from tests.customers.factories import CustomerAdministratorFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def _nav_links(content: str) -> list[tuple[str, str]]:
    nav = content.split('aria-label="Main navigation"')[1].split("</nav>")[0]
    return re.findall(r'<a class="nav-link[^"]*" href="([^"]+)"><i[^>]*></i>([^<]+)</a>', nav)


def _tile(content: str, name: str) -> str:
    return content.split(f'data-testid="home-{name}"')[1].split("</a>")[0]


@pytest.mark.parametrize(("who", "landing"), [("admin", "Overview"), ("eve", "Catalog")])
def test_a_customers_people_have_one_menu_entry_for_their_landing_page(
    client, tenant_a, who, landing
):
    client.force_login(tenant_a[who])
    content = client.get(reverse("home"), follow=True).content.decode()
    labels = [label for _, label in _nav_links(content)]
    assert "Home" not in labels and landing in labels
    hrefs = [href for href, _ in _nav_links(content)]
    assert len(hrefs) == len(set(hrefs))


def test_staff_keep_home_beside_the_customers_overview_when_acting_as(
    client, tenant_a, catalog_admin
):
    client.force_login(catalog_admin)
    client.post(reverse("customers:switch_company"), {"customer": tenant_a["customer"].pk})
    labels = [label for _, label in _nav_links(client.get(reverse("home")).content.decode())]
    assert "Home" in labels and "Overview" in labels


def test_the_staff_home_shows_what_needs_an_administrator_first(
    client, tenant_a, tenant_b, catalog_admin
):
    request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="x"
    )
    request_submit(
        actor=tenant_b["eve"], service=tenant_b["service"], quantity=1, justification="y"
    )
    CustomerFactory(needs_administrator=True)  # no administrator, no end users, no marketplace
    customer_settings_update(
        actor=catalog_admin,
        customer=tenant_a["customer"],
        credit_management=True,
        alert_threshold=Decimal("50"),
    )
    credit_grant(
        actor=catalog_admin, customer=tenant_a["customer"], amount=Decimal("10"), reason="PO"
    )
    SyncRun.objects.create(kind=SyncKind.PEOPLE, status=SyncStatus.FAILED)
    client.force_login(catalog_admin)
    content = client.get(reverse("home")).content.decode()
    assert "2" in _tile(content, "requests-waiting")
    assert f'href="{reverse("portal:request_list")}?status=approved"' in content
    assert ">1<" in _tile(content, "customers-attention")
    assert ">1<" in _tile(content, "low-balances")
    assert f'href="{reverse("credits:account_list")}"' in content
    assert "Failed" in _tile(content, "last-sync")


def test_the_system_administrator_sees_the_last_sync_not_the_customers(client, system_admin):
    client.force_login(system_admin)
    content = client.get(reverse("home")).content.decode()
    assert 'data-testid="home-last-sync"' in content
    assert "No sync yet" in _tile(content, "last-sync")
    assert 'data-testid="home-requests-waiting"' not in content
    assert 'data-testid="home-customers-attention"' not in content


@pytest.mark.parametrize("n", [2, 30])
def test_the_staff_home_costs_the_same_queries_however_many_customers(
    client, catalog_admin, msp_enabled, n, django_assert_max_num_queries
):
    for _ in range(n):
        CustomerAdministratorFactory()
    client.force_login(catalog_admin)
    with django_assert_max_num_queries(12):
        content = client.get(reverse("home")).content.decode()
    assert f">{n}<" in _tile(content, "customers-attention")  # none has end users yet


def test_act_as_this_customer_lands_on_its_overview(client, tenant_a, catalog_admin):
    client.force_login(catalog_admin)
    detail = client.get(
        reverse("customers:customer_detail", args=[tenant_a["customer"].pk])
    ).content.decode()
    form = detail.split('action="' + reverse("customers:switch_company") + '"')[1].split("</form>")[
        0
    ]
    next_url = re.search(r'name="next" value="([^"]+)"', form).group(1)
    response = client.post(
        reverse("customers:switch_company"),
        {"customer": tenant_a["customer"].pk, "next": next_url},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("entitlements:home")
    assert "Acting as customer" in response.content.decode()
    assert "<h1" in response.content.decode() and "Acme Corp" in response.content.decode()
