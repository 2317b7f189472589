"""C1: the global company (`- Global -` or `Global`) and the provider's own company are never
customers, in the picker, the service and the database (issue 14, item 2)."""

import importlib
import logging

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from customers.models import Customer
from customers.selectors import eligible_company_list, provider_company_list
from customers.services import company_eligibility_problem, customer_add
from itsm_sync.models import CompanyType
from msp_portal.errors import DomainError
from tests.accounts.factories import UserFactory
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db

GLOBAL_NAMES = ["- Global -", "Global"]


@pytest.mark.parametrize("name", GLOBAL_NAMES)
def test_the_global_company_is_never_eligible_under_either_name(
    name, catalog_admin, msp_enabled
) -> None:
    company = CompanyFactory(name=name, company_type=CompanyType.OPERATING_COMPANY)
    person = PersonFactory(company=company)

    assert company.is_global
    assert company not in eligible_company_list()
    assert company_eligibility_problem(company) == (
        f"{name} is the built-in global company; it can't be a customer."
    )
    with pytest.raises(DomainError, match="built-in global company"):
        customer_add(actor=catalog_admin, company=company, administrators=[person])
    assert not Customer.objects.exists()


@pytest.mark.parametrize("name", GLOBAL_NAMES)
def test_the_database_refuses_the_global_company_as_a_customer(name) -> None:
    company = CompanyFactory(name=name)
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(company=company)
    customer = Customer.objects.create(company=CompanyFactory(name="Acme Corp"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(company=company)


def test_a_company_merely_named_like_global_is_eligible() -> None:
    company = CompanyFactory(name="Global Logistics Ltd")
    assert not company.is_global
    assert company in eligible_company_list()


def test_the_providers_own_company_is_not_eligible(
    provider_company, catalog_admin, msp_enabled
) -> None:
    staffer = PersonFactory(company=provider_company)
    partner = CompanyFactory(name="Partner Services", company_type=CompanyType.SERVICE_PROVIDER)

    eligible = eligible_company_list()

    assert list(provider_company_list()) == [provider_company]
    assert provider_company not in eligible
    assert (
        partner in eligible
    )  # a Service Provider the staff don't belong to is a customer like any
    with pytest.raises(DomainError, match="the provider's own company"):
        customer_add(actor=catalog_admin, company=provider_company, administrators=[staffer])
    assert not Customer.objects.exists()


def test_the_provider_is_the_service_provider_its_staff_belong_to(provider_company) -> None:
    # No one holds an MSP role yet: no company is taken for the provider's.
    assert not provider_company_list().exists()
    UserFactory(company=provider_company, is_staff=True)
    assert list(provider_company_list()) == [provider_company]


def test_the_provider_company_setting_names_it(settings, provider_company, catalog_admin) -> None:
    other = CompanyFactory(name="Calbro Managed", company_type=CompanyType.CUSTOMER)
    settings.MSP_PROVIDER_COMPANY = "Calbro Managed"

    assert list(provider_company_list()) == [other]
    assert other not in eligible_company_list()
    assert "set MSP_PROVIDER_COMPANY" in company_eligibility_problem(other)
    assert provider_company in eligible_company_list()


def test_the_migration_names_a_customer_that_already_is_the_global_company(caplog) -> None:
    company = CompanyFactory(name="- Global -")
    with connection.cursor() as cursor:
        # A customer the old trigger let in (it knew only "Global"), put there past the new one.
        cursor.execute("SET session_replication_role = replica")
        Customer.objects.create(company=company)
        cursor.execute("RESET session_replication_role")
    migration = importlib.import_module("customers.migrations.0006_global_company_names")

    with caplog.at_level(logging.WARNING, logger="customers.migrations"):
        migration.forward(apps, connection.schema_editor())

    assert "Customer(s) - Global - are the built-in global company" in caplog.text
    assert Customer.objects.filter(company=company).exists()  # history kept, named for removal
