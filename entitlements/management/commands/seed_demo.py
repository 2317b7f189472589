"""Load the demo: ITSM companies and people through a real sync from the shipped export, plus staff logins.

It sits in the top layer because, as features land, the demo grows to cover all of them.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.roles import CATALOG_ADMIN, SYSTEM_ADMIN
from accounts.services import user_role_grant
from itsm_sync.models import Company
from itsm_sync.services import sync_companies, sync_people
from itsm_sync.sources import FileSource

DEMO_EXPORT = Path(__file__).resolve().parents[3] / "itsm_sync" / "demo" / "demo_itsm.json"
PROVIDER = "Calbro Services"

# Demo logins only: the demo runs with DEBUG on, on a local SQLite file.
STAFF = [
    ("sysadmin", "Sam", "Sysadmin", SYSTEM_ADMIN, "demo-sysadmin"),
    ("catadmin", "Cat", "Catalog", CATALOG_ADMIN, "demo-catadmin"),
]


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and print the demo logins."

    def handle(self, *args, **options):
        source = FileSource(DEMO_EXPORT)
        companies = sync_companies(source=source, full=True)
        people = sync_people(source=source, full=True)
        self.stdout.write(
            f"ITSM demo export synced: companies {companies.status} "
            f"(+{companies.created} ~{companies.updated}), people {people.status} "
            f"(+{people.created} ~{people.updated})."
        )
        provider = Company.objects.get(name=PROVIDER)
        User = get_user_model()
        with transaction.atomic():
            for username, first, last, role, password in STAFF:
                user, _ = User.objects.get_or_create(
                    username=username,
                    defaults={
                        "first_name": first,
                        "last_name": last,
                        "company": provider,
                        "email": f"{username}@calbro.example",
                    },
                )
                user.set_password(password)
                user.save()
                user_role_grant(actor=None, user=user, role=role)
        self.stdout.write(self.style.SUCCESS("Demo logins (http://127.0.0.1:8000/):"))
        for username, _, _, role, password in STAFF:
            self.stdout.write(f"  {role:<24} {username} / {password}")
