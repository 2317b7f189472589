"""Access resolution (E2) at scale: time and query count whatever the number of marketplaces."""

import sys

from bench.common import django_setup, row, timed

SIZES_FULL, SIZES_QUICK = (10, 200), (5, 40)
SERVICES_PER_MARKETPLACE = 25


def _world(marketplaces: int):
    from django.db import transaction

    from accounts.models import User
    from catalog.models import Category, Service, ServiceStatus
    from customers.models import Customer, CustomerService
    from entitlements.models import AudienceKind, AudienceRule, Marketplace, MarketplaceService
    from itsm_sync.models import Company, Person

    name = f"Bench Entitled {marketplaces}"
    with transaction.atomic():
        company, _ = Company.objects.get_or_create(
            entry_id=f"BENCHENT{marketplaces}",
            defaults={
                "name": name,
                "company_type": "Customer",
                "status": "Enabled",
                "last_modified": "2025-01-01T00:00:00Z",
            },
        )
        customer, _ = Customer.objects.get_or_create(company=company)
        created = Marketplace.objects.filter(customer=customer).count() != marketplaces or (
            CustomerService.objects.filter(customer=customer).count() != marketplaces * 10
        )
        if created:  # a half-built world from an interrupted run: build it again
            Marketplace.objects.filter(customer=customer).delete()
            CustomerService.objects.filter(customer=customer).delete()
            Service.objects.filter(name__startswith=f"Bench {marketplaces}-").delete()
        person, _ = Person.objects.get_or_create(
            person_id=f"BENCHENTP{marketplaces}",
            defaults={
                "company": company,
                "organization": "Finance",
                "department": "Payroll",
                "profile_status": "Enabled",
                "last_modified": "2025-01-01T00:00:00Z",
                "remedy_login_id": f"bench-ent-{marketplaces}",
            },
        )
        user, _ = User.objects.get_or_create(
            username=f"bench-ent-{marketplaces}", defaults={"company": company, "person": person}
        )
        if created:
            category, _ = Category.objects.get_or_create(name="Bench")
            services = Service.objects.bulk_create(
                Service(
                    name=f"Bench {marketplaces}-{i}",
                    category=category,
                    status=ServiceStatus.PUBLISHED,
                )
                for i in range(marketplaces * 10)
            )
            assignments = CustomerService.objects.bulk_create(
                CustomerService(customer=customer, service=s) for s in services
            )
            kinds = [
                AudienceKind.EVERYONE,
                AudienceKind.GROUP,
                AudienceKind.FILTER,
                AudienceKind.USER,
            ]
            for m in range(marketplaces):
                market = Marketplace.objects.create(customer=customer, name=f"M{m}")
                start = (m * 7) % max(1, len(assignments) - SERVICES_PER_MARKETPLACE)
                MarketplaceService.objects.bulk_create(
                    MarketplaceService(marketplace=market, assignment=a)
                    for a in assignments[start : start + SERVICES_PER_MARKETPLACE]
                )
                kind = kinds[m % 4]
                AudienceRule.objects.create(
                    marketplace=market,
                    kind=kind,
                    user=user if kind == AudienceKind.USER else None,
                    organization="Finance" if kind == AudienceKind.GROUP else "",
                    criteria={"department": ["Payroll"]} if kind == AudienceKind.FILTER else {},
                )
    return user


def _catalog_page(user) -> tuple[float, int]:
    """p50 (s) and queries of the end user's catalog page, through the test client."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    client.force_login(user)
    url = reverse("portal:catalog")
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return timed(lambda: client.get(url), repeat=15), len(ctx.captured_queries)


def run(quick: bool = False) -> list[dict]:
    django_setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from customers.services import msp_enable
    from entitlements.access import visible_services

    # Customers exist only in MSP mode (M5), and the database refuses them otherwise.
    msp_enable(actor=None, actor_label="bench")
    rows = []
    small, large = SIZES_QUICK if quick else SIZES_FULL
    results = {}
    for size in (small, large):
        user = _world(size)
        with CaptureQueriesContext(connection) as ctx:
            count = len(visible_services(user=user))
        seconds = timed(lambda u=user: visible_services(user=u), repeat=9)
        results[size] = (seconds, len(ctx.captured_queries), count)
    baseline = timed(lambda: User.objects.filter(pk=user.pk).first(), repeat=15)
    pages = {}
    for size in (small, large):
        pages[size] = _catalog_page(_world(size))
    (t_small, q_small, c_small), (t_large, q_large, c_large) = results[small], results[large]
    rows.append(
        row(
            f"visible services, {small} marketplaces ({c_small} services)",
            t_small * 1000,
            "ms",
            target="(reference)",
            reference=baseline * 1000,
            ratio=t_small / baseline,
        )
    )
    rows.append(
        row(
            f"visible services, {large} marketplaces ({c_large} services)",
            t_large * 1000,
            "ms",
            target="≤ 100 ms",
            reference=baseline * 1000,
            ratio=t_large / baseline,
            ok=t_large <= 0.1,
        )
    )
    rows.append(
        row(
            f"queries at {small} vs {large} marketplaces",
            q_large,
            "queries",
            target=f"= {q_small}",
            reference=q_small,
            ratio=q_large / q_small,
            ok=q_large == q_small,
        )
    )
    (p_small, _), (p_large, _) = pages[small], pages[large]
    rows.append(
        row(
            f"end-user catalog page p50, {large} marketplaces ({c_large} services)",
            p_large * 1000,
            "ms",
            target="≤ 50 ms",
            reference=p_small * 1000,
            ratio=p_large / p_small,
            ok=p_large <= 0.05,
        )
    )
    return rows


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(r)
