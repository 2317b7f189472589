"""Rough edges of the customer pages found by walking the mission in a browser (issue 19)."""

import pytest
from django.urls import reverse

from customers.models import Customer
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db):
    return CompanyFactory(name="Acme Corp")


@pytest.fixture
def alice(acme):
    return PersonFactory(
        company=acme, first_name="Alice", last_name="Archer", remedy_login_id="alice"
    )


def _candidates(content: str) -> str:
    """The administrator picker's list on the Add customer page."""
    return content.split('id="admin-candidates"')[1].split("</div>\n        </div>")[0]


def test_after_a_validation_error_the_picker_lists_the_chosen_companys_people(
    client, catalog_admin, msp_enabled, acme, alice
):
    PersonFactory(company=CompanyFactory(name="Other"), first_name="Mallory")
    client.force_login(catalog_admin)
    response = client.post(reverse("customers:customer_add"), {"company": acme.pk})
    content = response.content.decode()
    assert "Name at least one administrator" in content
    picker = _candidates(content)
    assert "Choose a company first" not in picker
    assert "Alice Archer" in picker and "Mallory" not in picker
    assert not Customer.objects.exists()


def test_people_already_chosen_are_not_offered_again_after_an_error(
    client, catalog_admin, msp_enabled, acme, alice
):
    bob = PersonFactory(company=acme, first_name="Bob", last_name="Baker")
    client.force_login(catalog_admin)
    content = client.post(
        reverse("customers:customer_add"),
        {"company": acme.pk, "administrators": [alice.pk], "alert_threshold": "-5"},
    ).content.decode()
    assert "Alice Archer" in content.split('data-testid="chosen-admins"')[1].split("</div>")[0]
    picker = _candidates(content)
    assert "Alice Archer" not in picker and bob.full_name in picker


@pytest.fixture
def customer(catalog_admin, msp_enabled, acme, alice):
    from customers.services import customer_add

    return customer_add(
        actor=catalog_admin,
        company=acme,
        administrators=[alice],
        credit_management=True,
        alert_threshold=50,
    )


def test_the_alert_threshold_is_a_text_field_so_letters_reach_the_server(
    client, catalog_admin, customer
):
    client.force_login(catalog_admin)
    content = client.get(reverse("customers:customer_detail", args=[customer.pk])).content.decode()
    before, after = content.split('name="alert_threshold"')
    field = before.rsplit("<input", 1)[1] + after.split(">", 1)[0]
    assert 'type="text"' in field and 'inputmode="decimal"' in field


@pytest.mark.parametrize("typed", ["ten", "12,5x", "1O0"])
def test_letters_in_the_alert_threshold_are_refused_and_the_alert_kept(
    client, catalog_admin, customer, typed
):
    client.force_login(catalog_admin)
    response = client.post(
        reverse("customers:customer_settings", args=[customer.pk]),
        {"credit_management": "on", "alert_threshold": typed},
    )
    content = response.content.decode()
    assert response.status_code == 400
    assert "Settings saved" not in content
    assert "Enter the alert threshold as a number of credits" in content
    customer.refresh_from_db()
    assert customer.alert_threshold == 50


def _list_row(client, name: str) -> str:
    content = client.get(reverse("customers:customer_list")).content.decode()
    return next(row for row in content.split("<tbody>")[1].split("</tr>") if f"{name}</a>" in row)


def _cells(row: str) -> list[str]:
    return [cell.split(">", 1)[1].split("</td")[0] for cell in row.split("<td")[1:]]


def test_administrators_are_not_counted_as_end_users(client, catalog_admin, customer):
    client.force_login(catalog_admin)
    content = client.get(reverse("customers:customer_detail", args=[customer.pk])).content.decode()
    assert 'data-testid="end-users-active">0<' in content
    assert "No filter yet" in content
    cells = _cells(_list_row(client, "Acme Corp"))
    assert cells[3:5] == ["1", "0"]  # administrators, end users


def test_end_users_brought_in_by_a_filter_are_counted_without_the_administrator(
    client, catalog_admin, customer, acme
):
    from customers.services import end_user_filter_save

    PersonFactory(company=acme, remedy_login_id="eve")
    PersonFactory(company=acme, remedy_login_id="ed")
    end_user_filter_save(actor=catalog_admin, customer=customer, name="Everyone", criteria={})
    client.force_login(catalog_admin)
    content = client.get(reverse("customers:customer_detail", args=[customer.pk])).content.decode()
    assert 'data-testid="end-users-active">2<' in content
    assert _cells(_list_row(client, "Acme Corp"))[3:5] == ["1", "2"]


def test_health_flags_a_customer_without_end_users_or_marketplace(client, catalog_admin, customer):
    client.force_login(catalog_admin)
    row = _list_row(client, "Acme Corp")
    assert "No end users" in row and "No marketplace" in row
    assert "OK" not in row


def test_health_is_ok_for_a_customer_with_end_users_and_a_marketplace(
    client, catalog_admin, customer, acme
):
    from customers.services import end_user_filter_save
    from entitlements.services import marketplace_create

    PersonFactory(company=acme, remedy_login_id="eve")
    end_user_filter_save(actor=catalog_admin, customer=customer, name="Everyone", criteria={})
    marketplace_create(actor=catalog_admin, customer=customer, name="Standard")
    Customer.objects.filter(pk=customer.pk).update(alert_threshold=None)
    client.force_login(catalog_admin)
    row = _list_row(client, "Acme Corp")
    assert "OK" in row and "badge" not in row


@pytest.fixture
def northwind(catalog_admin, msp_enabled):
    from customers.services import customer_add

    company = CompanyFactory(name="Northwind Insurance Inc.")
    admin = PersonFactory(company=company, remedy_login_id="nora")
    return customer_add(
        actor=catalog_admin, company=company, administrators=[admin], credit_management=True
    )


def test_a_name_ending_in_a_full_stop_gets_no_second_one_in_messages(
    client, catalog_admin, northwind
):
    client.force_login(catalog_admin)
    content = client.post(
        reverse("customers:switch_company"), {"customer": northwind.pk}, follow=True
    ).content.decode()
    assert "You are now acting as Northwind Insurance Inc. Every change records it." in content
    content = client.post(
        reverse("credits:grant", args=[northwind.pk]),
        {"grant-amount": "10", "grant-reason": "PO 1", "grant-idempotency_key": "k1"},
        follow=True,
    ).content.decode()
    assert "Granted 10.00 credits to Northwind Insurance Inc. Balance: 10.00." in content
    assert "Inc.." not in content


def test_a_name_ending_in_a_full_stop_gets_no_second_one_in_refusals(catalog_admin, northwind):
    from customers.services import customer_service_remove
    from msp_portal.errors import DomainError
    from tests.catalog.factories import ServiceFactory

    with pytest.raises(DomainError) as refused:
        customer_service_remove(
            actor=catalog_admin, customer=northwind, service=ServiceFactory(name="Backup")
        )
    assert refused.value.messages == ["Backup is not assigned to Northwind Insurance Inc."]


def test_the_customer_page_shows_balance_forecast_and_grant(client, catalog_admin, customer):
    from credits.services import credit_grant

    credit_grant(actor=catalog_admin, customer=customer, amount=120, reason="PO 7")
    client.force_login(catalog_admin)
    content = client.get(reverse("customers:customer_detail", args=[customer.pk])).content.decode()
    card = content.split('data-testid="customer-credits"')[1].split('id="end-users"')[0]
    assert 'data-testid="customer-balance">120.00<' in card
    assert "Too little history to forecast" in card
    assert f'action="{reverse("credits:grant", args=[customer.pk])}"' in card
    assert reverse("credits:account_detail", args=[customer.pk]) in card


def test_a_grant_from_the_customer_page_comes_back_to_it(client, catalog_admin, customer):
    url = reverse("customers:customer_detail", args=[customer.pk])
    client.force_login(catalog_admin)
    response = client.post(
        reverse("credits:grant", args=[customer.pk]),
        {"grant-amount": "40", "grant-reason": "PO 8", "grant-idempotency_key": "k8", "next": url},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == url
    content = response.content.decode()
    assert "Granted 40.00 credits to Acme Corp. Balance: 40.00." in content
    assert 'data-testid="customer-balance">40.00<' in content


def test_a_grant_never_follows_a_next_to_another_site(client, catalog_admin, customer):
    client.force_login(catalog_admin)
    response = client.post(
        reverse("credits:grant", args=[customer.pk]),
        {"grant-amount": "5", "grant-reason": "PO", "next": "https://evil.example/"},
    )
    assert response.url == reverse("credits:account_detail", args=[customer.pk])


def test_credit_management_off_says_so_on_the_customer_page(client, catalog_admin, customer):
    Customer.objects.filter(pk=customer.pk).update(credit_management=False)
    client.force_login(catalog_admin)
    content = client.get(reverse("customers:customer_detail", args=[customer.pk])).content.decode()
    card = content.split('data-testid="customer-credits"')[1].split('id="end-users"')[0]
    assert "Credit Management is off" in card
    assert reverse("credits:grant", args=[customer.pk]) not in card


def test_add_customer_with_an_opening_grant(client, catalog_admin, msp_enabled, acme, alice):
    from credits.models import CreditEntry

    client.force_login(catalog_admin)
    response = client.post(
        reverse("customers:customer_add"),
        {
            "company": acme.pk,
            "administrators": [alice.pk],
            "credit_management": "on",
            "opening_grant": "250",
        },
        follow=True,
    )
    customer = Customer.objects.get(company=acme)
    assert 'data-testid="customer-balance">250.00<' in response.content.decode()
    entry = CreditEntry.objects.get(account__customer=customer)
    assert (entry.kind, entry.amount, entry.reason) == ("grant", 250, "Opening grant")


def test_an_opening_grant_needs_credit_management(client, catalog_admin, msp_enabled, acme, alice):
    client.force_login(catalog_admin)
    response = client.post(
        reverse("customers:customer_add"),
        {"company": acme.pk, "administrators": [alice.pk], "opening_grant": "250"},
    )
    assert "An opening grant needs Credit Management" in response.content.decode()
    assert not Customer.objects.exists()


def _service_picker(content: str) -> str:
    return content.split('id="service-candidates"')[1].split("</div>\n")[0]


def test_the_service_picker_says_when_every_service_is_assigned_already(
    client, catalog_admin, customer
):
    from customers.services import customer_services_add
    from tests.catalog.factories import ServiceFactory

    customer_services_add(
        actor=catalog_admin, customer=customer, services=[ServiceFactory(name="Laptop")]
    )
    client.force_login(catalog_admin)
    content = client.get(reverse("customers:customer_detail", args=[customer.pk])).content.decode()
    picker = _service_picker(content)
    assert "Every published service is assigned to Acme Corp already." in picker
    assert "No published service matches" not in picker


def test_the_service_picker_says_when_nothing_is_published_or_nothing_matches(
    client, catalog_admin, msp_enabled
):
    from tests.catalog.factories import ServiceFactory

    client.force_login(catalog_admin)
    content = client.get(reverse("customers:customer_add")).content.decode()
    assert "No service is published yet" in _service_picker(content)
    ServiceFactory(name="Laptop")
    content = client.get(
        reverse("customers:service_options"), {"service_q": "zzz"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "No published service matches “zzz”." in content
    content = client.get(
        reverse("customers:service_options"),
        {
            "services": [
                str(s) for s in ServiceFactory._meta.model.objects.values_list("pk", flat=True)
            ]
        },
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "Every published service is chosen above." in content
