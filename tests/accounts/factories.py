"""Factories for accounts."""

import factory

from accounts.models import PeopleGroup, User
from tests.itsm_sync.factories import CompanyFactory

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.SubFactory(CompanyFactory)
    password = factory.django.Password(PASSWORD)


class PeopleGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PeopleGroup

    name = factory.Sequence(lambda n: f"Group {n}")
