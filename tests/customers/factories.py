"""Factories for customers."""

import factory

from accounts.models import User
from customers.models import Customer, CustomerAdministrator, CustomerService, EndUserFilter
from tests.catalog.factories import ServiceFactory
from tests.itsm_sync.factories import CompanyFactory, PersonFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    company = factory.SubFactory(CompanyFactory)


class CustomerServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerService

    customer = factory.SubFactory(CustomerFactory)
    service = factory.SubFactory(ServiceFactory)


def _admin_user(admin) -> User:
    person = PersonFactory(company=admin.customer.company)
    return User.objects.create(
        username=person.remedy_login_id,
        company=admin.customer.company,
        person=person,
        first_name=person.first_name,
        last_name=person.last_name,
    )


class CustomerAdministratorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerAdministrator

    customer = factory.SubFactory(CustomerFactory)
    user = factory.LazyAttribute(_admin_user)


class EndUserFilterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EndUserFilter

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Filter {n}")
    criteria = factory.LazyFunction(dict)
