"""List pages against the Django admin changelist on the same data (issue 4, DESIGN §5).

10 000 customers and 200 000 people (a tenth with --quick). For the customers list and the
people directory: p50/p95 and queries of page 1 and of a deep page, beside the Django admin
changelist of the same model measured in the same run. Targets: at least 4× faster than the
admin, a constant query count, a deep page within 1.5× of page 1.
"""

import io
import re
import statistics
import sys
import time

from bench.common import django_setup, row

FULL = (10_000, 200_000)
QUICK = (1_000, 20_000)
DEEP = 40  # pages followed to reach the deep page


def _load(customers: int, people: int) -> None:
    from django.db import connection

    from customers.models import Customer
    from itsm_sync.models import Company, Person

    have_people = Person.objects.filter(person_id__startswith="BPPL").count()
    have_customers = Customer.objects.filter(company__entry_id__startswith="BCPY").count()
    if have_people == people and have_customers == customers:
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM itsm_sync_person WHERE person_id LIKE 'BPPL%%'")
        cursor.execute(
            "DELETE FROM customers_customer WHERE company_id IN "
            "(SELECT id FROM itsm_sync_company WHERE entry_id LIKE 'BCPY%%')"
        )
        cursor.execute("DELETE FROM itsm_sync_company WHERE entry_id LIKE 'BCPY%%'")
        companies = io.StringIO()
        for i in range(customers):
            companies.write(
                f"BCPY{i:08d}\tBench Customer {i:05d}\tCustomer\tEnabled\tBC{i}\t\t"
                "2025-01-01 00:00:00+00\tt\t2025-01-01 00:00:00+00\n"
            )
        companies.seek(0)
        cursor.copy_expert(
            "COPY itsm_sync_company (entry_id, name, company_type, status, abbreviation, "
            "parent_company, last_modified, is_active, mirrored_at) FROM STDIN",
            companies,
        )
        cursor.execute(
            "INSERT INTO customers_customer (company_id, created_at, credit_management, needs_administrator) "
            "SELECT id, now(), false, false FROM itsm_sync_company WHERE entry_id LIKE 'BCPY%%'"
        )
        ids = [
            r[0]
            for r in Company.objects.filter(entry_id__startswith="BCPY")
            .values_list("id")
            .order_by("id")
        ]
        buf = io.StringIO()
        for i in range(people):
            buf.write(
                f"BPPL{i:010d}\tu{i}\tFirst{i % 997}\tLast{i % 1009:04d}\tu{i}@example.com\t{ids[i % len(ids)]}\t"
                f"Org{i % 7}\tDept{i % 13}\tEurope\tCentral\tSite{i % 5}\tOffice-Based Employee\tf\tf\t"
                "Enabled\t2025-01-01 00:00:00+00\tt\t2025-01-01 00:00:00+00\n"
            )
        buf.seek(0)
        cursor.copy_expert(
            "COPY itsm_sync_person (person_id, remedy_login_id, first_name, last_name, email, company_id, "
            "organization, department, region, site_group, site, client_type, support_staff, vip, "
            "profile_status, last_modified, is_active, mirrored_at) FROM STDIN",
            buf,
        )
        cursor.execute("ANALYZE")


def _staff():
    """A catalog and system administrator as the portal has them: roles, not a superuser.

    A superuser skips loading permissions on each request; real staff don't, on either page.
    """
    from accounts.models import User
    from accounts.roles import CATALOG_ADMIN, SYSTEM_ADMIN
    from accounts.services import user_role_grant
    from itsm_sync.models import Company

    user, _created = User.objects.update_or_create(
        username="bench-staff",
        defaults={
            "company": Company.objects.order_by("id").first(),
            "is_superuser": False,
            "is_staff": True,
        },
    )
    for role in (SYSTEM_ADMIN, CATALOG_ADMIN):
        user_role_grant(actor=None, user=user, role=role)
    return user


def _sample(client, urls: list[str], repeat: int) -> list[tuple[float, float, int]]:
    """p50 and p95 in ms, and the query count, of GET each url.

    The urls take turns, request by request, so a busy moment of the machine (PostgreSQL
    tidying up after the sync benchmark, say) falls on our page and its reference alike.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for url in urls:
        client.get(url)
    times: dict[str, list[float]] = {url: [] for url in urls}
    for _ in range(repeat):
        for url in urls:
            started = time.perf_counter()
            response = client.get(url)
            times[url].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    results = []
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        samples = sorted(times[url])
        p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
        results.append((statistics.median(samples), p95, len(ctx.captured_queries)))
    return results


def _deep_url(client, url: str, pages: int) -> str:
    for _ in range(pages):
        found = re.search(r"after=([A-Za-z0-9_=-]+)", client.get(url).content.decode())
        if not found:
            break
        url = url.split("?")[0] + f"?after={found.group(1)}"
    return url


def world(quick: bool) -> tuple[int, int]:
    """The pages' data on the bench database (QUICK or FULL: customers, people), MSP mode on,
    any host answered; returns the two sizes."""
    django_setup()
    from django.conf import settings
    from django.utils import timezone

    from customers.services import msp_enable
    from msp_portal.models import MspMode

    customers, people = QUICK if quick else FULL
    _load(customers, people)
    msp_enable(actor=None, actor_label="bench")
    # As in a real portal, where customers are only added in MSP mode and the first one's arrival
    # records it on for good (customers migration 0004), so pages stop asking whether it is on.
    # The bench copies its customers in before MSP mode is on, so it records that arrival itself.
    MspMode.objects.filter(pk=1, first_customer_at__isnull=True).update(
        first_customer_at=timezone.now()
    )
    settings.ALLOWED_HOSTS = ["*"]
    return customers, people


def run(quick: bool = False) -> list[dict]:
    customers, people = world(quick)
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(_staff())
    pages = [
        (
            "customers list",
            "customers:customer_list",
            "admin:customers_customer_changelist",
            customers,
        )
    ]
    pages.append(
        ("people directory", "itsm_sync:person_list", "admin:itsm_sync_person_changelist", people)
    )
    repeat = 9 if quick else 21
    rows = []
    for label, name, admin_name, size in pages:
        url = reverse(name)
        admin_url = reverse(admin_name)
        deep_pages = min(DEEP, size // 50 - 2)
        # The admin shows 100 rows a page (its ?p= counts from 0): the same rows as ours.
        (p50, p95, queries), (deep_p50, _, deep_queries), (a50, a95, aq), (ad50, _, adq) = _sample(
            client,
            [
                url,
                _deep_url(client, url, deep_pages),
                admin_url,
                admin_url + f"?p={deep_pages * 50 // 100}",
            ],
            repeat,
        )
        rows += [
            row(
                f"{label} p50, page 1 ({size:,} rows)",
                p50,
                "ms",
                target="≥ 4× faster than admin",
                reference=a50,
                ratio=a50 / p50,
                ok=a50 / p50 >= 4,
            ),
            row(
                f"{label} p95, page 1",
                p95,
                "ms",
                target="(admin p95)",
                reference=a95,
                ratio=a95 / p95,
            ),
            row(
                f"{label} p50, page {deep_pages + 1}",
                deep_p50,
                "ms",
                target="≤ 1.5× page 1",
                reference=p50,
                ratio=deep_p50 / p50,
                ok=deep_p50 <= 1.5 * p50,
            ),
            row(
                f"{label} p50, deep page vs admin",
                deep_p50,
                "ms",
                target="≥ 4× faster than admin",
                reference=ad50,
                ratio=ad50 / deep_p50,
                ok=ad50 / deep_p50 >= 4,
            ),
            row(
                f"{label} queries, page 1 / deep",
                queries,
                "queries",
                target="constant",
                reference=deep_queries,
                ratio=queries / deep_queries,
                ok=queries == deep_queries,
            ),
            row(
                f"admin changelist queries ({label})",
                aq,
                "queries",
                target="(reference)",
                reference=adq,
            ),
        ]
    return rows


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(r)
