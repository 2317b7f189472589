"""List pages against the Django admin changelist on the same data (DESIGN §5).

Targets: a list page runs the same number of queries with 10 rows as with N rows; a deep page
costs what page 1 costs; the list page is at least 4× faster than the admin changelist.
"""

import io
import re
import sys

from bench.common import django_setup, row, timed

PEOPLE_FULL, PEOPLE_QUICK = 300_000, 30_000


def _load(n: int) -> None:
    from django.db import connection

    from itsm_sync.models import Company, Person
    from msp_portal.models import AuditEvent

    bench_people = Person.objects.filter(company__entry_id__startswith="BENCH0")
    if bench_people.count() == n and AuditEvent.objects.filter(action="bench.row").count() == n:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM itsm_sync_person WHERE company_id IN "
            "(SELECT id FROM itsm_sync_company WHERE entry_id LIKE 'BENCH0%%')"
        )
        cursor.execute("DELETE FROM msp_portal_auditevent WHERE action = 'bench.row'")
    companies = [
        Company.objects.get_or_create(
            entry_id=f"BENCH{i:04d}",
            defaults={
                "name": f"Bench Company {i}",
                "company_type": "Customer",
                "status": "Enabled",
                "last_modified": "2025-01-01T00:00:00Z",
            },
        )[0].pk
        for i in range(50)
    ]
    buf = io.StringIO()
    for i in range(n):
        buf.write(
            f"PPL{i:012d}\tu{i}\tFirst{i % 997}\tLast{i % 1009}\tu{i}@example.com\t{companies[i % 50]}\t"
            f"Org{i % 7}\tDept{i % 13}\tEurope\tCentral\tSite{i % 5}\tOffice-Based Employee\tf\tf\tEnabled\t"
            "2025-01-01 00:00:00+00\tt\t2025-01-01 00:00:00+00\n"
        )
    buf.seek(0)
    columns = (
        "person_id, remedy_login_id, first_name, last_name, email, company_id, organization, department, "
        "region, site_group, site, client_type, support_staff, vip, profile_status, last_modified, is_active, mirrored_at"
    )
    events = io.StringIO()
    for i in range(n):
        events.write(
            f"2025-01-01 00:00:00+00\tbench\t\tbench.row\titsm_sync.person\t{i}\tPerson {i}\t\n"
        )
    events.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY itsm_sync_person ({columns}) FROM STDIN", buf)
        cursor.copy_expert(
            "COPY msp_portal_auditevent (at, actor_label, acting_as_label, action, object_type, object_id, object_repr, message) FROM STDIN",
            events,
        )
        cursor.execute("ANALYZE itsm_sync_person")
        cursor.execute("ANALYZE msp_portal_auditevent")


def _staff():
    from accounts.models import User
    from accounts.roles import CATALOG_ADMIN, SYSTEM_ADMIN
    from accounts.services import user_role_grant
    from itsm_sync.models import Company

    user = User.objects.filter(username="bench-admin").first()
    if user is None:
        user = User.objects.create(
            username="bench-admin",
            company=Company.objects.first(),
            is_superuser=True,
            is_staff=True,
        )
    for role in (SYSTEM_ADMIN, CATALOG_ADMIN):
        user_role_grant(actor=None, user=user, role=role)
    return user


def _queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def _deep_cursor(client, url: str, pages: int) -> str:
    """Follow `pages` next links and return the URL of that deep page."""
    for _ in range(pages):
        found = re.search(r"after=([A-Za-z0-9_=-]+)", client.get(url).content.decode())
        if not found:
            break
        url = url.split("?")[0] + f"?after={found.group(1)}"
    return url


def run(quick: bool = False) -> list[dict]:
    django_setup()
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    n = PEOPLE_QUICK if quick else PEOPLE_FULL
    _load(n)
    client = Client()
    client.force_login(_staff())
    rows = []
    pages = [
        (
            "audit trail",
            reverse("audit_event_list"),
            reverse("admin:msp_portal_auditevent_changelist"),
        )
    ]
    try:
        pages.insert(
            0,
            (
                "people directory",
                reverse("itsm_sync:person_list"),
                reverse("admin:itsm_sync_person_changelist"),
            ),
        )
    except NoReverseMatch:
        print("people directory not built yet; skipped", file=sys.stderr)
    for label, url, admin_url in pages:
        ours = timed(lambda u=url: client.get(u), repeat=9)
        deep_url = _deep_cursor(client, url, 40)
        deep = timed(lambda u=deep_url: client.get(u), repeat=9)
        theirs = timed(lambda u=admin_url: client.get(u), repeat=5)
        their_deep = timed(lambda u=admin_url + "?p=2000": client.get(u), repeat=5)
        q_ours = _queries(client, url)
        rows += [
            row(
                f"{label}: page 1 ({n:,} rows)",
                ours * 1000,
                "ms",
                target="≥ 4× faster than admin",
                reference=theirs * 1000,
                ratio=theirs / ours,
                ok=theirs / ours >= 4,
            ),
            row(
                f"{label}: page 41 (keyset)",
                deep * 1000,
                "ms",
                target="≤ 2× page 1",
                reference=ours * 1000,
                ratio=deep / ours,
                ok=deep <= 2 * ours + 0.002,
            ),
            row(
                f"{label}: admin deep page (?p=2000)",
                their_deep * 1000,
                "ms",
                target="(reference)",
                reference=theirs * 1000,
                ratio=their_deep / theirs,
            ),
            row(f"{label}: queries per page", q_ours, "queries", target="same as at 10 rows"),
        ]
    return rows


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(r)
