"""Pages of the ITSM sync for MSP staff: start and watch runs, review plans, browse the mirror."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import Retry
from celery.result import EagerResult
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import capfirst
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST

from msp_portal.auth import permission_required
from msp_portal.errors import DomainError
from msp_portal.forms import form_errors_text
from msp_portal.pagination import keyset_page
from msp_portal.params import id_param, search_param

from . import selectors, services, tasks
from .filters import CompanyFilterSet, PersonFilterSet
from .forms import (
    ALL_KINDS,
    RunApproveForm,
    RunFilterForm,
    RunStartForm,
    records,
)
from .models import Company, Person, PlanAction, SyncKind, SyncRun, SyncStatus
from .sources import COMPANY_FIELDS, PEOPLE_FIELDS, source_status

WHAT = {
    ALL_KINDS: "companies, then people",
    SyncKind.COMPANIES: "companies",
    SyncKind.PEOPLE: "people",
}
MODELS = {SyncKind.COMPANIES: Company, SyncKind.PEOPLE: Person}
DETAIL_URLS = {
    SyncKind.COMPANIES: "itsm_sync:company_detail",
    SyncKind.PEOPLE: "itsm_sync:person_detail",
}
PLAN_PAGE_SIZE = 50
# A mirror is called stale once this many scheduled incremental syncs in a row have not succeeded.
STALE_AFTER_SCHEDULES = 3


def _wants_partial(request: HttpRequest, target: str | None = None) -> bool:
    if not request.htmx or request.htmx.history_restore_request:
        return False
    return target is None or request.htmx.target == target


def _query_without_cursor(request: HttpRequest, cursor: str = "after") -> str:
    query = request.GET.copy()
    query.pop(cursor, None)
    return query.urlencode()


# ---------------------------------------------------------------------------------------------
# ITSM sync: where each kind stands, the last runs, and live progress.
# ---------------------------------------------------------------------------------------------


def _duration(value: timedelta | None) -> str:
    """'0.4 s', '12 s', '2 min 14 s', '1 h 3 min'."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 0.1:
        return "<\u00a00.1\u00a0s"
    if seconds < 10:
        return f"{seconds:.1f}\u00a0s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}\u00a0s"
    if seconds < 3600:
        return f"{seconds // 60}\u00a0min {seconds % 60}\u00a0s"
    return f"{seconds // 3600}\u00a0h {seconds % 3600 // 60}\u00a0min"


def _run_duration(run: SyncRun) -> str:
    """How long a run took; a run still going (a paused one keeps its earlier steps' time) has
    no duration yet: its progress says how long it has been running."""
    return _duration(run.duration) if run.is_finished else ""


def _progress(run: SyncRun, now: datetime) -> dict[str, Any]:
    """How far a running run has got; the source does not say how many records remain."""
    since = run.approved_at or run.started_at
    elapsed = max((now - since).total_seconds(), 0.0)
    return {
        "run": run,
        "elapsed_label": _duration(timedelta(seconds=elapsed)),
        "rows_per_s": round(run.seen / elapsed) if elapsed >= 1 and not run.approved_at else None,
        "applying": run.approved_at is not None,
        # A full run through Celery goes in steps; between two it waits for its next task.
        "step": (
            f"step {run.steps}" + (", waiting for its next task" if run.is_paused else "")
            if run.steps > 1 or run.is_paused
            else ""
        ),
    }


def _planned(run: SyncRun) -> bool:
    """Whether the run's counts are a plan (dry run, awaiting approval) rather than applied."""
    return run.dry_run or run.status == SyncStatus.NEEDS_APPROVAL


def _kind_panels(request: HttpRequest) -> list[dict[str, Any]]:
    """One panel per kind for the status cards: the selector's facts plus how to read them."""
    now = timezone.now()
    stale_minutes = settings.ITSM_SYNC_INCREMENTAL_MINUTES * STALE_AFTER_SCHEDULES
    panels = []
    for status in selectors.sync_status_list(user=request.user):
        success = status.last_success
        panels.append(
            {
                "status": status,
                "label": SyncKind(status.kind).label,
                "refreshed": (
                    "just now"
                    if status.staleness is not None and status.staleness < timedelta(minutes=1)
                    else f"{timesince(success.finished_at, now)} ago"
                )
                if success and success.finished_at
                else "",
                "stale": status.staleness is not None
                and status.staleness > timedelta(minutes=stale_minutes),
                "stale_minutes": stale_minutes,
                "last_duration": _run_duration(status.last_run) if status.last_run else "",
                "progress": _progress(status.running, now) if status.running else None,
            }
        )
    return panels


def _run_list_context(request: HttpRequest) -> dict[str, Any]:
    filter_form = RunFilterForm(request.GET or None)
    filters = filter_form.filters() if filter_form.is_bound else {}
    page = keyset_page(
        selectors.sync_run_list(user=request.user, **filters),
        ordering=selectors.SYNC_RUN_ORDERING,
        cursor=request.GET.get("after"),
    )
    panels = _kind_panels(request)
    source, source_problem = source_status()
    rows = [
        {"run": run, "duration": _run_duration(run), "planned": _planned(run)} for run in page.rows
    ]
    return {
        "panels": panels,
        "running": any(panel["progress"] for panel in panels)
        or any(run.status == SyncStatus.RUNNING for run in page.rows),
        "page": page,
        "rows": rows,
        "any_planned": any(row["planned"] for row in rows),
        "query": _query_without_cursor(request),
        "filter_form": filter_form,
        "filtered": bool(filters),
        "source": source,
        "source_problem": source_problem,
        "start_form": RunStartForm(initial={"kind": ALL_KINDS}),
        "schedule_minutes": settings.ITSM_SYNC_INCREMENTAL_MINUTES,
    }


@permission_required("itsm_sync.view_syncrun")
def run_list(request: HttpRequest) -> HttpResponse:
    template = "itsm_sync/run_list.html"
    if _wants_partial(request, "live"):
        template += "#live"
    response = TemplateResponse(request, template, _run_list_context(request))
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _started_message(kind: str, *, full: bool, dry_run: bool) -> str:
    mode = "full" if full else "incremental"
    if dry_run:
        return (
            f"Dry run ({mode}) started: {WHAT[kind]}. It changes nothing; open it below to "
            "review its plan."
        )
    return f"{capfirst(mode)} sync started: {WHAT[kind]}. Its progress shows below."


@permission_required("itsm_sync.run_sync")
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    form = RunStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("itsm_sync:run_list")
    kind, full, dry_run = (form.cleaned_data[k] for k in ("kind", "full", "dry_run"))
    try:
        result = services.sync_run_start(actor=request.user, kind=kind, full=full, dry_run=dry_run)
    except services.SyncRunGoing as error:
        messages.warning(request, f"{error} Its progress shows below.")
        return redirect("itsm_sync:run_list")
    except (DomainError, tasks.SyncRunFailed) as error:
        # SyncRunFailed only without a broker (the demo): the task ran in this request and the
        # run has ended.
        messages.error(request, str(error))
        return redirect("itsm_sync:run_list")
    except Retry:
        runs = selectors.sync_run_list(user=request.user)
        run = runs.filter(kind__in=selectors.kinds_started(kind)).first()
        messages.error(
            request,
            f"ITSM sync run #{run.pk if run else '?'} failed: {run.error if run else ''} "
            "It looks temporary (a timeout or a server error): try again in a minute.",
        )
        return redirect("itsm_sync:run_list")
    outcome = result.result if isinstance(result, EagerResult) else None
    if isinstance(outcome, dict) and outcome.get("status") == "already_running":
        messages.warning(request, outcome["message"])
    else:
        messages.success(request, _started_message(kind, full=full, dry_run=dry_run))
    return redirect("itsm_sync:run_list")


# ---------------------------------------------------------------------------------------------
# One run: summary, plan and rejected records; approval of a plan that waits for it.
# ---------------------------------------------------------------------------------------------


def _field_label(kind: str, name: str) -> str:
    model = MODELS.get(kind)
    try:
        return capfirst(model._meta.get_field(name).verbose_name)
    except Exception:  # a field the plan names that the model no longer has
        return name


def _display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _mirror_names(request: HttpRequest, run: SyncRun, changes: list) -> dict[int, str]:
    """Who or what each change of a page touches in the mirror, in one query."""
    ids = [change.object_id for change in changes if change.object_id]
    if not ids:
        return {}
    if run.kind == SyncKind.COMPANIES:
        companies = selectors.company_list(user=request.user, active=None).filter(pk__in=ids)
        return {company.pk: company.name for company in companies}
    people = selectors.person_list(user=request.user, active=None).filter(pk__in=ids)
    return {person.pk: f"{person.full_name} · {person.company.name}" for person in people}


def _plan_rows(run: SyncRun, changes: list, names: dict[int, str]) -> list[dict[str, Any]]:
    """Each planned change with its fields in the record's order, labelled as ITSM names them.

    A create lists only what it sets: not its key (shown beside it), nor "present in source".
    """
    model = MODELS[run.kind]
    order = {field.name: index for index, field in enumerate(model._meta.fields)}
    key_field = model._meta.fields[1].name
    rows = []
    for change in changes:
        items = sorted((change.changes or {}).items(), key=lambda item: order.get(item[0], 99))
        fields = []
        for name, pair in items:
            before, after = (pair[0], pair[-1]) if isinstance(pair, list) and pair else (None, None)
            if change.action == PlanAction.CREATE and (
                name in (key_field, "is_active") or after in (None, "")
            ):
                continue
            fields.append(
                {
                    "label": _field_label(run.kind, name),
                    "before": _display(before),
                    "after": _display(after),
                }
            )
        rows.append({"change": change, "fields": fields, "name": names.get(change.object_id)})
    return rows


def _rejected_rows(run: SyncRun, rejected: list) -> list[dict[str, Any]]:
    """Each rejected record with its AR values in the form's field order, unknown ones last."""
    fields = COMPANY_FIELDS if run.kind == SyncKind.COMPANIES else PEOPLE_FIELDS
    order = {name: index for index, name in enumerate(fields)}
    rows = []
    for record in rejected:
        raw = record.raw
        values = None
        if isinstance(raw, dict):
            values = [
                (name, "" if value is None else value)
                for name, value in sorted(raw.items(), key=lambda item: order.get(item[0], 99))
            ]
        rows.append(
            {
                "record": record,
                "values": values,
                "text": json.dumps(raw, indent=2, ensure_ascii=False, default=str),
            }
        )
    return rows


def _has_plan(run: SyncRun) -> bool:
    return _planned(run) or bool(
        run.planned_creates or run.planned_updates or run.planned_deactivations
    )


def _run_detail_response(
    request: HttpRequest, run: SyncRun, approve_form: RunApproveForm | None = None
) -> HttpResponse:
    has_plan = _has_plan(run)
    tabs = [name for name, shown in (("plan", has_plan), ("rejected", run.rejected)) if shown]
    tab = request.GET.get("tab", "")
    if tab not in tabs:
        tab = tabs[0] if tabs else ""
    cursor = request.GET.get("after")
    context: dict[str, Any] = {
        "run": run,
        "detail": reverse("itsm_sync:run_detail", kwargs={"pk": run.pk}),
        "planned": _planned(run),
        "duration": _run_duration(run),
        "tab": tab,
        "has_plan": has_plan,
        "query": _query_without_cursor(request),
        "detail_url": DETAIL_URLS[run.kind],
        "progress": _progress(run, timezone.now()) if run.status == SyncStatus.RUNNING else None,
        "plan_total": run.planned_creates + run.planned_updates + run.planned_deactivations,
        "deactivations": records(run.kind, run.planned_deactivations),
        "plan_actions": PlanAction.choices,
    }
    if tab == "plan":
        action = request.GET.get("action", "")
        action = action if action in PlanAction.values else ""
        key = search_param(request.GET, "key", max_length=40)
        page = keyset_page(
            selectors.planned_change_list(user=request.user, run=run, action=action, key=key),
            ordering=selectors.DETAIL_ORDERING,
            cursor=cursor,
            size=PLAN_PAGE_SIZE,
        )
        names = _mirror_names(request, run, page.rows)
        context.update(page=page, rows=_plan_rows(run, page.rows, names), action=action, key=key)
    elif tab == "rejected":
        page = keyset_page(
            selectors.rejected_record_list(user=request.user, run=run),
            ordering=selectors.DETAIL_ORDERING,
            cursor=cursor,
            size=PLAN_PAGE_SIZE,
        )
        context.update(page=page, rows=_rejected_rows(run, page.rows))
    if run.approvable and request.user.has_perm(services.RUN_PERMISSION):
        context["approve_form"] = approve_form or RunApproveForm(run=run)
    template = "itsm_sync/run_detail.html"
    if _wants_partial(request, "run-summary"):
        if run.is_finished:
            # The plan and rejected records appear once it ends: reload the whole page.
            return HttpResponse(headers={"HX-Refresh": "true"})
        template += "#summary"
    response = TemplateResponse(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@permission_required("itsm_sync.view_syncrun")
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _run_detail_response(request, selectors.sync_run_get(user=request.user, run_id=pk))


@permission_required("itsm_sync.run_sync")
@require_POST
def run_approve(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.sync_run_get(user=request.user, run_id=pk)
    form = RunApproveForm(request.POST, run=run)
    if run.approvable and not form.is_valid():
        return _run_detail_response(request, run, approve_form=form)
    try:
        run = services.sync_run_approve(actor=request.user, run=run)
    except services.SyncAlreadyRunning as error:
        messages.warning(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if run.status == SyncStatus.SUCCEEDED:
            messages.success(
                request,
                f"Plan of run #{run.pk} approved and applied: {run.created} created, "
                f"{run.updated} updated, {records(run.kind, run.deactivated)} deactivated.",
            )
        else:
            messages.error(request, f"Applying the plan of run #{run.pk} stopped: {run.error}")
    return redirect("itsm_sync:run_detail", pk=run.pk)


# ---------------------------------------------------------------------------------------------
# The mirror: company and people directories.
# ---------------------------------------------------------------------------------------------


def _directory_response(
    request: HttpRequest, template: str, context: dict[str, Any]
) -> HttpResponse:
    if _wants_partial(request):
        template += "#results"
    response = TemplateResponse(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@permission_required("itsm_sync.view_company")
def company_list(request: HttpRequest) -> HttpResponse:
    filters = CompanyFilterSet(request.GET, selectors.company_list(user=request.user, active=None))
    page = keyset_page(
        filters.qs, ordering=selectors.COMPANY_ORDERING, cursor=request.GET.get("after")
    )
    return _directory_response(
        request,
        "itsm_sync/company_list.html",
        {
            "form": filters.form,
            "page": page,
            "query": _query_without_cursor(request),
            "filtered": bool(filters.applied),
        },
    )


def _place_choices(*, user: Any, company_id: int) -> list[tuple[str, str]]:
    """The (organization, department) pairs of one company's people, in one indexed query."""
    people = selectors.person_list(user=user, company_id=company_id, active=None)
    return list(
        people.order_by("organization", "department")
        .values_list("organization", "department")
        .distinct()
    )


# The company filter offers this many companies; a search box above it finds any other one, so
# the page costs the same with 50 companies as with 50 000.
COMPANY_OPTIONS = 100


def _company_options(request: HttpRequest, query: str = "") -> list[tuple[int, str]]:
    companies = selectors.company_list(user=request.user, active=None)
    if query:
        companies = companies.filter(name__icontains=query)
    return list(companies.order_by("name", "id").values_list("id", "name")[:COMPANY_OPTIONS])


def _chosen_company(request: HttpRequest, companies: list[tuple[int, str]]) -> int | None:
    """The company of ?company=, added to the offered options when the first page lacks it."""
    company_id = id_param(request.GET, "company")
    if company_id is None:
        return None
    if any(pk == company_id for pk, _name in companies):
        return company_id
    chosen = list(
        selectors.company_list(user=request.user, active=None)
        .filter(pk=company_id)
        .values_list("id", "name")
    )
    companies[:0] = chosen
    return company_id if chosen else None


@permission_required("itsm_sync.view_person")
def company_options(request: HttpRequest) -> HttpResponse:
    """htmx: the companies whose name matches a search, as <option>s of the company filter."""
    companies = _company_options(request, search_param(request.GET, "company_q"))
    return TemplateResponse(
        request, "itsm_sync/person_list.html#company_options", {"companies": companies}
    )


@permission_required("itsm_sync.view_person")
def person_list(request: HttpRequest) -> HttpResponse:
    companies = _company_options(request)
    company_id = _chosen_company(request, companies)
    places = _place_choices(user=request.user, company_id=company_id) if company_id else None
    filters = PersonFilterSet(
        request.GET,
        selectors.person_list(user=request.user, active=None),
        companies=companies,
        places=places,
    )
    page = keyset_page(
        filters.qs, ordering=selectors.PERSON_ORDERING, cursor=request.GET.get("after")
    )
    return _directory_response(
        request,
        "itsm_sync/person_list.html",
        {
            "form": filters.form,
            "page": page,
            "query": _query_without_cursor(request),
            "filtered": bool(filters.applied),
            "show_company": "company" not in filters.applied,
            # An htmx refresh also replaces the organization and department menus, which
            # depend on the company chosen.
            "oob": _wants_partial(request),
        },
    )


@permission_required("itsm_sync.view_company")
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = selectors.company_get(user=request.user, company_id=pk)
    can_see_people = request.user.has_perm("itsm_sync.view_person")
    people = (
        list(selectors.person_list(user=request.user, company_id=company.pk, active=None)[:11])
        if can_see_people
        else []
    )
    organizations: dict[str, list[str]] = {}
    if can_see_people:
        for organization, department in _place_choices(user=request.user, company_id=company.pk):
            departments = organizations.setdefault(organization or "(no organization)", [])
            if department:
                departments.append(department)
    return TemplateResponse(
        request,
        "itsm_sync/company_detail.html",
        {
            "company": company,
            "people": people[:10],
            "more_people": len(people) > 10,
            "can_see_people": can_see_people,
            "organizations": sorted(organizations.items()),
        },
    )


def _portal_account(person: Person) -> Any:
    """The portal account linked to this person, if any (accounts is a higher layer)."""
    try:
        return person.user
    except (ObjectDoesNotExist, AttributeError):
        return None


@permission_required("itsm_sync.view_person")
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_get(user=request.user, person_id=pk)
    return TemplateResponse(
        request,
        "itsm_sync/person_detail.html",
        {"person": person, "account": _portal_account(person)},
    )
