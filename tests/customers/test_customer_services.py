"""Rules C1–C4 and M5 for customers at the service level."""

from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import User
from catalog.models import ServiceStatus
from customers.models import Customer, CustomerAdministrator, CustomerService
from customers.services import (
    customer_add,
    customer_admin_add,
    customer_admin_remove,
    customer_service_remove,
    customer_services_add,
    customer_settings_update,
)
from itsm_sync.models import CompanyType, RecordStatus
from msp_portal.errors import DomainError, MspModeRequired, NotAllowed
from msp_portal.models import AuditEvent
from tests.catalog.factories import ServiceFactory
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db):
    return CompanyFactory(name="Acme Corp")


@pytest.fixture
def alice(acme):
    return PersonFactory(
        company=acme, first_name="Alice", remedy_login_id="alice", email="alice@acme.example"
    )


def test_adding_a_customer_needs_msp_mode(catalog_admin, acme, alice):
    with pytest.raises(MspModeRequired):
        customer_add(actor=catalog_admin, company=acme, administrators=[alice])
    assert not Customer.objects.exists()


def test_a_customer_is_added_with_its_administrator_services_and_settings(
    catalog_admin, acme, alice, msp_enabled, django_capture_on_commit_callbacks
):
    service = ServiceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        customer = customer_add(
            actor=catalog_admin,
            company=acme,
            administrators=[alice],
            services=[service],
            credit_management=True,
            alert_threshold=Decimal("100"),
        )
    assert customer.credit_management and customer.alert_threshold == Decimal("100")
    admin = CustomerAdministrator.objects.get(customer=customer)
    assert admin.user.username == "alice" and admin.user.person == alice
    assert admin.user.company == acme and not admin.user.has_usable_password()
    assert list(customer.assignments.values_list("service", flat=True)) == [service.pk]
    assert mail.outbox[0].to == ["alice@acme.example"]
    assert "/set-password/" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="customer.add", object_id=str(customer.pk)).exists()


def test_at_least_one_administrator_is_required(catalog_admin, acme, msp_enabled):
    with pytest.raises(DomainError, match="at least one administrator"):
        customer_add(actor=catalog_admin, company=acme, administrators=[])
    assert not Customer.objects.exists()


def test_administrators_come_from_the_company_itself(catalog_admin, acme, msp_enabled):
    stranger = PersonFactory(company=CompanyFactory(name="Other Inc"))
    with pytest.raises(DomainError, match="belongs to another company"):
        customer_add(actor=catalog_admin, company=acme, administrators=[stranger])
    assert not Customer.objects.exists() and not User.objects.filter(person=stranger).exists()


@pytest.mark.parametrize(
    "company_kwargs, reason",
    [
        ({"name": "Global"}, "Global"),
        ({"company_type": CompanyType.MANUFACTURER}, "Manufacturer"),
        ({"status": RecordStatus.OFFLINE}, "not Enabled"),
        ({"is_active": False}, "not Enabled"),
    ],
)
def test_ineligible_companies_are_refused(catalog_admin, msp_enabled, company_kwargs, reason):
    company = CompanyFactory(**company_kwargs)
    person = PersonFactory(company=company)
    with pytest.raises(DomainError, match=reason):
        customer_add(actor=catalog_admin, company=company, administrators=[person])


def test_a_company_becomes_a_customer_only_once(catalog_admin, acme, alice, msp_enabled):
    customer_add(actor=catalog_admin, company=acme, administrators=[alice])
    with pytest.raises(DomainError, match="already a customer"):
        customer_add(actor=catalog_admin, company=acme, administrators=[alice])


def test_only_catalog_administrators_add_customers(system_admin, acme, alice, msp_enabled):
    with pytest.raises(NotAllowed):
        customer_add(actor=system_admin, company=acme, administrators=[alice])


def test_a_login_taken_by_another_account_is_a_clear_refusal(
    catalog_admin, acme, alice, msp_enabled
):
    User.objects.create(username="alice", company=acme)
    with pytest.raises(DomainError, match="already belongs to another account"):
        customer_add(actor=catalog_admin, company=acme, administrators=[alice])
    assert not Customer.objects.exists()


@pytest.fixture
def customer(catalog_admin, acme, alice, msp_enabled):
    return customer_add(actor=catalog_admin, company=acme, administrators=[alice])


def test_only_published_services_can_be_assigned(catalog_admin, customer):
    draft = ServiceFactory(status=ServiceStatus.DRAFT, name="Draft thing")
    with pytest.raises(DomainError, match="Draft thing"):
        customer_services_add(actor=catalog_admin, customer=customer, services=[draft])
    assert not CustomerService.objects.exists()


def test_assigning_twice_keeps_one_assignment(catalog_admin, customer):
    service = ServiceFactory()
    customer_services_add(actor=catalog_admin, customer=customer, services=[service])
    assert customer_services_add(actor=catalog_admin, customer=customer, services=[service]) == []
    assert CustomerService.objects.count() == 1


def test_a_service_is_removed(catalog_admin, customer):
    service = ServiceFactory()
    customer_services_add(actor=catalog_admin, customer=customer, services=[service])
    customer_service_remove(actor=catalog_admin, customer=customer, service=service)
    assert not CustomerService.objects.exists()
    with pytest.raises(DomainError, match="not assigned"):
        customer_service_remove(actor=catalog_admin, customer=customer, service=service)


def test_the_last_administrator_cannot_be_removed(catalog_admin, customer, acme):
    only = customer.administrators.get()
    with pytest.raises(DomainError, match="last active administrator"):
        customer_admin_remove(actor=catalog_admin, customer=customer, administrator=only)
    bob = PersonFactory(company=acme, remedy_login_id="bob")
    customer_admin_add(actor=catalog_admin, customer=customer, person=bob)
    customer_admin_remove(actor=catalog_admin, customer=customer, administrator=only)
    assert list(customer.administrators.values_list("user__username", flat=True)) == ["bob"]


def test_a_disabled_person_cannot_become_administrator(catalog_admin, customer, acme):
    gone = PersonFactory(company=acme, profile_status=RecordStatus.OFFLINE)
    with pytest.raises(DomainError, match="not Enabled"):
        customer_admin_add(actor=catalog_admin, customer=customer, person=gone)


def test_a_negative_threshold_is_refused(catalog_admin, customer):
    with pytest.raises(ValidationError, match="can't be negative"):
        customer_settings_update(
            actor=catalog_admin,
            customer=customer,
            credit_management=True,
            alert_threshold=Decimal("-1"),
        )
    customer.refresh_from_db()
    assert customer.alert_threshold is None


def test_the_database_refuses_a_manufacturer_customer_whatever_the_path(msp_enabled):
    from django.db import IntegrityError, transaction

    maker = CompanyFactory(company_type=CompanyType.MANUFACTURER)
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(company=maker)
    assert not Customer.objects.exists()


def test_the_django_admin_cannot_add_customers(client, system_admin):
    system_admin.is_superuser = True
    system_admin.save()
    client.force_login(system_admin)
    assert client.get("/admin/customers/customer/add/").status_code == 403


def test_the_last_active_administrator_cannot_be_removed_beside_a_deactivated_one(
    catalog_admin, customer, acme
):
    active = customer.administrators.get()
    bob = PersonFactory(company=acme, remedy_login_id="bob")
    deactivated = customer_admin_add(actor=catalog_admin, customer=customer, person=bob)
    User.objects.filter(pk=deactivated.user_id).update(is_active=False)  # ITSM disabled Bob
    with pytest.raises(DomainError, match="last active administrator"):
        customer_admin_remove(actor=catalog_admin, customer=customer, administrator=active)
    assert customer.administrators.filter(pk=active.pk).exists()


def test_removing_an_inactive_administrator_beside_an_active_one_is_allowed(
    catalog_admin, customer, acme
):
    bob = PersonFactory(company=acme, remedy_login_id="bob")
    deactivated = customer_admin_add(actor=catalog_admin, customer=customer, person=bob)
    User.objects.filter(pk=deactivated.user_id).update(is_active=False)
    customer_admin_remove(actor=catalog_admin, customer=customer, administrator=deactivated)
    assert customer.administrators.count() == 1


def test_deactivating_the_last_active_administrator_anywhere_flags_the_customer(customer):
    """The Django admin saves the account directly; the customer still learns of it (C2)."""
    admin = customer.administrators.get().user
    admin.is_active = False
    admin.save()
    customer.refresh_from_db()
    assert customer.needs_administrator
    assert AuditEvent.objects.filter(action="customer.needs_administrator").exists()
