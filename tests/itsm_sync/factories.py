"""Factories for the ITSM mirror."""

import factory
from django.utils import timezone

from itsm_sync.models import (
    Company,
    CompanyType,
    Person,
    PlanAction,
    PlannedChange,
    RecordStatus,
    RejectedRecord,
    SyncKind,
    SyncMode,
    SyncRun,
    SyncStatus,
)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        django_get_or_create = ("name",)

    entry_id = factory.Sequence(lambda n: f"CPY{n:09d}")
    name = factory.Sequence(lambda n: f"Company {n}")
    company_type = CompanyType.CUSTOMER
    status = RecordStatus.ENABLED
    abbreviation = factory.LazyAttribute(lambda o: o.name[:6].upper())
    last_modified = factory.LazyFunction(timezone.now)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    person_id = factory.Sequence(lambda n: f"PPL{n:09d}")
    remedy_login_id = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.remedy_login_id}@example.com")
    company = factory.SubFactory(CompanyFactory)
    organization = "IT"
    department = "Service Desk"
    region = "Europe"
    site_group = "Central"
    site = "Amsterdam"
    client_type = "Office-Based Employee"
    profile_status = RecordStatus.ENABLED
    last_modified = factory.LazyFunction(timezone.now)


class SyncRunFactory(factory.django.DjangoModelFactory):
    """A finished people sync; pass status, mode, dry_run and counters as needed."""

    class Meta:
        model = SyncRun

    kind = SyncKind.PEOPLE
    mode = SyncMode.INCREMENTAL
    status = SyncStatus.SUCCEEDED
    started_by_label = "system"
    finished_at = factory.LazyFunction(timezone.now)


class RejectedRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RejectedRecord

    run = factory.SubFactory(SyncRunFactory)
    key = factory.Sequence(lambda n: f"PPL{n:012d}")
    reason = "No Company."
    raw = factory.LazyAttribute(lambda o: {"Person ID": o.key, "Company": None})


class PlannedChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlannedChange

    run = factory.SubFactory(SyncRunFactory, dry_run=True)
    key = factory.Sequence(lambda n: f"PPL{n:012d}")
    action = PlanAction.UPDATE
    changes = factory.LazyFunction(lambda: {"department": ["Payroll", "Treasury"]})
