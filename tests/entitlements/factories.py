"""Factories for entitlements."""

import factory

from entitlements.models import AudienceKind, AudienceRule, Marketplace, MarketplaceService
from tests.customers.factories import CustomerFactory


class MarketplaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Marketplace

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Marketplace {n}")


class MarketplaceServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketplaceService

    marketplace = factory.SubFactory(MarketplaceFactory)


class AudienceRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AudienceRule

    marketplace = factory.SubFactory(MarketplaceFactory)
    kind = AudienceKind.EVERYONE
