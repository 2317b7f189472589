"""Reads of the ITSM mirror and its sync runs, for MSP staff (each scoped to the reading user).

The mirror and the run history are MSP-internal: a user without the matching view permission
gets an empty queryset (lists) or Http404 (single objects), never another tenant's data. Lists
are plain querysets ordered for keyset pagination (`msp_portal.pagination.keyset_page`), with
the related rows a list shows already joined, so a page costs the same queries at any size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from .forms import ALL_KINDS
from .models import (
    Company,
    Person,
    PlannedChange,
    RejectedRecord,
    SyncKind,
    SyncRun,
    SyncStatus,
    Watermark,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Orderings that match an index and end on a unique column, as keyset_page needs.
SYNC_RUN_ORDERING = ("-started_at", "-id")
COMPANY_ORDERING = ("name", "id")
PERSON_ORDERING = ("last_name", "first_name", "id")
DETAIL_ORDERING = ("id",)


def _can_view_runs(user: AbstractBaseUser) -> bool:
    return user.has_perm("itsm_sync.view_syncrun")


def sync_run_list(
    *,
    user: AbstractBaseUser,
    kind: str = "",
    status: str = "",
    dry_run: bool | None = None,
) -> QuerySet[SyncRun]:
    """Sync runs, newest first, optionally of one kind, status or dry-run-ness."""
    if not _can_view_runs(user):
        return SyncRun.objects.none()
    runs = SyncRun.objects.select_related("started_by", "approved_by").order_by(*SYNC_RUN_ORDERING)
    if kind:
        runs = runs.filter(kind=kind)
    if status:
        runs = runs.filter(status=status)
    if dry_run is not None:
        runs = runs.filter(dry_run=dry_run)
    return runs


def sync_run_get(*, user: AbstractBaseUser, run_id: int) -> SyncRun:
    """One sync run, or Http404 when it does not exist or the user may not see runs."""
    run = sync_run_list(user=user).filter(pk=run_id).first()
    if run is None:
        raise Http404("No such sync run.")
    return run


def rejected_record_list(*, user: AbstractBaseUser, run: SyncRun) -> QuerySet[RejectedRecord]:
    """The records a run rejected, in the order it met them, with their reasons."""
    if not _can_view_runs(user):
        return RejectedRecord.objects.none()
    return RejectedRecord.objects.filter(run=run).order_by(*DETAIL_ORDERING)


def planned_change_list(
    *, user: AbstractBaseUser, run: SyncRun, action: str = "", key: str = ""
) -> QuerySet[PlannedChange]:
    """A run's plan, record by record (`changes` holds each field's [before, after])."""
    if not _can_view_runs(user):
        return PlannedChange.objects.none()
    plan = PlannedChange.objects.filter(run=run).defer("values").order_by(*DETAIL_ORDERING)
    if action:
        plan = plan.filter(action=action)
    if key:
        plan = plan.filter(key__istartswith=key)
    return plan


@dataclass(frozen=True)
class KindStatus:
    """Where the mirror of one kind stands: its last runs, the watermark and how stale it is."""

    kind: str
    last_run: SyncRun | None
    last_success: SyncRun | None
    running: SyncRun | None
    awaiting_approval: SyncRun | None
    watermark: datetime | None
    staleness: timedelta | None


def kinds_started(kind: str) -> tuple[str, ...]:
    """The kinds a start of `kind` syncs: "all" is companies, then people."""
    return (SyncKind.COMPANIES, SyncKind.PEOPLE) if kind == ALL_KINDS else (kind,)


def running_sync_get(*, user: AbstractBaseUser, kind: str) -> SyncRun | None:
    """The run already going among the kinds a start of `kind` syncs, if any."""
    kinds = kinds_started(kind)
    for status in sync_status_list(user=user):
        if status.kind in kinds and status.running is not None:
            return status.running
    return None


def sync_status_list(*, user: AbstractBaseUser) -> list[KindStatus]:
    """For each kind (companies, then people): last run, last success, running, awaiting approval.

    Staleness is the time since the last successful real run finished (None if never).
    """
    if not _can_view_runs(user):
        return []
    marks = dict(Watermark.objects.values_list("kind", "value"))
    now = timezone.now()
    result = []
    for kind in (SyncKind.COMPANIES, SyncKind.PEOPLE):
        runs = sync_run_list(user=user, kind=kind)
        success = runs.filter(status=SyncStatus.SUCCEEDED, dry_run=False).first()
        result.append(
            KindStatus(
                kind=kind,
                last_run=runs.first(),
                last_success=success,
                running=runs.filter(status=SyncStatus.RUNNING).first(),
                awaiting_approval=runs.filter(status=SyncStatus.NEEDS_APPROVAL).first(),
                watermark=marks.get(kind),
                staleness=(now - success.finished_at) if success and success.finished_at else None,
            )
        )
    return result


def company_search_q(query: str) -> Q:
    """Companies a directory search finds: name containing it, entry ID or abbreviation equal."""
    return Q(name__icontains=query) | Q(entry_id__iexact=query) | Q(abbreviation__iexact=query)


def company_list(
    *,
    user: AbstractBaseUser,
    query: str = "",
    company_type: str = "",
    status: str = "",
    active: bool | None = True,
) -> QuerySet[Company]:
    """Mirrored companies by name, filtered by a search on name/entry id/abbreviation and type."""
    if not user.has_perm("itsm_sync.view_company"):
        return Company.objects.none()
    companies = Company.objects.order_by(*COMPANY_ORDERING)
    if query:
        companies = companies.filter(company_search_q(query))
    if company_type:
        companies = companies.filter(company_type=company_type)
    if status:
        companies = companies.filter(status=status)
    if active is not None:
        companies = companies.filter(is_active=active)
    return companies


def company_get(*, user: AbstractBaseUser, company_id: int) -> Company:
    """One mirrored company, or Http404 when it does not exist or the user may not see it."""
    company = company_list(user=user, active=None).filter(pk=company_id).first()
    if company is None:
        raise Http404("No such company.")
    return company


def person_search_q(query: str) -> Q:
    """People a directory search finds: a name or e-mail starting with it, login or Person ID
    equal (prefixes, so the name indexes serve them)."""
    return (
        Q(last_name__istartswith=query)
        | Q(first_name__istartswith=query)
        | Q(email__istartswith=query)
        | Q(remedy_login_id__iexact=query)
        | Q(person_id__iexact=query)
    )


def person_list(
    *,
    user: AbstractBaseUser,
    query: str = "",
    company_id: int | None = None,
    organization: str = "",
    department: str = "",
    profile_status: str = "",
    client_type: str = "",
    active: bool | None = True,
) -> QuerySet[Person]:
    """Mirrored people by name, with their company joined, narrowed by the directory filters."""
    if not user.has_perm("itsm_sync.view_person"):
        return Person.objects.none()
    people = Person.objects.select_related("company").order_by(*PERSON_ORDERING)
    if query:
        people = people.filter(person_search_q(query))
    if company_id:
        people = people.filter(company_id=company_id)
    if organization:
        people = people.filter(organization=organization)
    if department:
        people = people.filter(department=department)
    if profile_status:
        people = people.filter(profile_status=profile_status)
    if client_type:
        people = people.filter(client_type=client_type)
    if active is not None:
        people = people.filter(is_active=active)
    return people


def person_get(*, user: AbstractBaseUser, person_id: int) -> Person:
    """One mirrored person (by pk) with their company, or Http404."""
    person = person_list(user=user, active=None).filter(pk=person_id).first()
    if person is None:
        raise Http404("No such person.")
    return person


def organization_choices(*, user: AbstractBaseUser, company_id: int) -> list[str]:
    """Distinct organizations of one company, for the directory's filter menu.

    Scoped to a company so it reads the (company, organization, department) index, not every
    person.
    """
    people = person_list(user=user, company_id=company_id).exclude(organization="")
    return list(people.order_by("organization").values_list("organization", flat=True).distinct())


def department_choices(
    *, user: AbstractBaseUser, company_id: int, organization: str = ""
) -> list[str]:
    """Distinct departments of one company (and organization, if given), for the filter menu."""
    people = person_list(user=user, company_id=company_id, organization=organization)
    people = people.exclude(department="")
    return list(people.order_by("department").values_list("department", flat=True).distinct())
