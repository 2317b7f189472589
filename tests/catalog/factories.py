"""Factories for the catalog."""

from decimal import Decimal

import factory

from catalog.models import Category, Service, ServiceStatus


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Category {n}")
    description = "Services of one kind."


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n}")
    description = factory.LazyAttribute(lambda o: f"What {o.name} provides.")
    category = factory.SubFactory(CategoryFactory)
    status = ServiceStatus.PUBLISHED
    price = Decimal("10.00")
