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
        created = Marketplace.objects.filter(customer=customer).count() != marketplaces
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
                for i in range(marketplaces * SERVICES_PER_MARKETPLACE // 2)
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


def run(quick: bool = False) -> list[dict]:
    django_setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from entitlements.access import visible_services

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
    return rows


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(r)
