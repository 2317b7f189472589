"""Approval pages: the Approvals page of each approver, the decision posted from it or from a
request's page, the confirmation page an e-mailed link opens, and the request page's panel."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from customers.scope import is_msp_staff
from customers.views import msp_mode_page
from entitlements.models import RequestStatus, ServiceRequest
from entitlements.selectors import request_list
from msp_portal.errors import NotAllowed
from msp_portal.forms import form_add_error, form_errors_text
from msp_portal.pagination import keyset_page
from msp_portal.selectors import msp_mode_enabled
from msp_portal.tenancy import CHANGE, get_visible_or_404

from . import selectors, services
from .forms import DecisionForm, LinkNoteForm
from .links import LinkForeign, LinkRefused, link_read, max_age_days
from .models import LinkDecision, StepKind, StepStatus
from .notify import answers_of

PAGE_SIZE = 25


def _approver_or_403(request: HttpRequest) -> None:
    """Approval pages are for approvers: anyone else gets 403 before any lookup, so a 404 always
    means "not in your scope" (T1)."""
    if not services.is_approver(request.user):
        raise PermissionDenied(
            "Approvals are for customer administrators and MSP catalog administrators."
        )


def _request(request: HttpRequest, pk: int) -> ServiceRequest:
    return get_visible_or_404(request.user, request_list(user=request.user), pk=pk)


@login_required
@msp_mode_page
def approval_list(request: HttpRequest) -> HttpResponse:
    _approver_or_403(request)
    staff = is_msp_staff(request.user, CHANGE)
    show = selectors.ALL if staff and request.GET.get("show") == selectors.ALL else selectors.MINE
    page = keyset_page(
        selectors.approval_list(user=request.user, show=show),
        ordering=("waiting_since", "id"),
        cursor=request.GET.get("after"),
        size=PAGE_SIZE,
    )
    for step in page.rows:
        # Catalog administrators follow the customers' steps on "All waiting", read-only.
        step.yours = show == selectors.MINE or selectors.decides_here(request.user, step)
    params = request.GET.copy()
    params.pop("after", None)
    return TemplateResponse(
        request,
        "approvals/approval_list.html",
        {"page": page, "show": show, "staff": staff, "query": params.urlencode()},
    )


@login_required
def approval_count(request: HttpRequest) -> HttpResponse:
    """The navigation's badge: how many decisions wait for this approver (drawn by htmx, so no
    page pays for the count); nothing at all while MSP mode is off."""
    _approver_or_403(request)
    if not msp_mode_enabled():
        return HttpResponse("")
    count, more = selectors.approval_waiting_count(user=request.user)
    return TemplateResponse(
        request, "approvals/approval_count.html", {"count": count, "more": more}
    )


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _outcome(step, service_request: ServiceRequest) -> str:
    service_request.refresh_from_db(fields=["status"])
    if step.status == StepStatus.REJECTED:
        refund = " Its credits are refunded." if service_request.total else ""
        return f"You rejected request #{service_request.pk}; the requester sees your note.{refund}"
    if service_request.status == RequestStatus.AWAITING_APPROVAL:
        return (
            f"You approved request #{service_request.pk}: it now waits for an MSP catalog "
            "administrator."
        )
    return f"You approved request #{service_request.pk}: it is approved and goes on to fulfilment."


@login_required
@msp_mode_page
@require_POST
def approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _approver_or_403(request)
    service_request = _request(request, pk)
    back = _back(request, reverse("approvals:approval_list"))
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect(back)
    try:
        step = services.approval_decide(
            actor=request.user,
            request=service_request,
            approve=form.cleaned_data["decision"] == LinkDecision.APPROVE,
            note=form.cleaned_data["note"],
        )
    except NotAllowed as error:
        # 403 with the reason (their own request, or a step for someone else) and the way on.
        return TemplateResponse(
            request,
            "approvals/refused.html",
            {"r": service_request, "refusal": str(error)},
            status=403,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _outcome(step, service_request))
    return redirect(back)


@login_required
@msp_mode_page
def link_confirm(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    """The page an e-mailed approve or reject link opens: it shows the request and its answers and
    asks to confirm; only the POST decides (a mail scanner following the link changes nothing)."""
    _approver_or_403(request)
    service_request = _request(request, pk)
    context = {
        "r": service_request,
        "answers": answers_of(service_request),
        "steps": selectors.request_steps(request=service_request),
        "days": max_age_days(),
    }
    try:
        checked = link_read(token=token, request_pk=pk, user=request.user)
    except LinkRefused as error:
        status = 403 if isinstance(error, LinkForeign) else 200
        context["refusal"] = str(error)
        return TemplateResponse(request, "approvals/link_confirm.html", context, status=status)
    step = checked.link.step
    if step.status != StepStatus.PENDING or service_request.status != (
        RequestStatus.AWAITING_APPROVAL
    ):
        context["refusal"] = (
            f"Request #{pk} was decided already"
            + (
                f": {step.get_status_display().lower()} by {step.decided_by_label}"
                if step.decided_at
                else f" (it is {service_request.get_status_display().lower()})"
            )
            + ". Nothing was changed; this link works no more."
        )
        return TemplateResponse(request, "approvals/link_confirm.html", context)
    step.request = service_request
    refusal = services.own_request_refusal(actor=request.user, step=step)
    if refusal:
        # A link in the requester's hands (mailed before they were left out) never decides.
        context["refusal"] = refusal
        return TemplateResponse(request, "approvals/link_confirm.html", context, status=403)
    approve = checked.decision == LinkDecision.APPROVE
    form = LinkNoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            step = services.approval_decide(
                actor=request.user,
                request=service_request,
                approve=approve,
                note=form.cleaned_data["note"],
                link=checked.link,
            )
        except NotAllowed as error:
            context["refusal"] = str(error)
            return TemplateResponse(request, "approvals/link_confirm.html", context, status=403)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, _outcome(step, service_request))
            return redirect("portal:request_detail", pk=pk)
    context.update({"form": form, "approve": approve, "step": step})
    return TemplateResponse(request, "approvals/link_confirm.html", context)


def request_panel(request: HttpRequest, service_request: ServiceRequest) -> dict | None:
    """The request page's Approval panel: who must decide, what was decided with its note, and
    the decision form for an approver of the step waiting now."""
    steps = selectors.request_steps(request=service_request)
    if not steps:
        return None
    current = next((s for s in steps if s.is_waiting), None)
    may_decide = second_approval = False
    names = []
    routed = ""
    if current is not None and service_request.status == RequestStatus.AWAITING_APPROVAL:
        current.request = service_request
        may_decide = services.step_may_decide(actor=request.user, step=current)
        second_approval = not may_decide and bool(
            services.earlier_approval_refusal(actor=request.user, step=current)
        )
        if current.kind == StepKind.CUSTOMER_ADMIN and not current.routed_to_msp:
            names = [u.display_name for u in services.step_approvers(step=current)[:10]]
    if any(s.routed_to_msp for s in steps):
        routed = services.routed_reason(service_request)
    own = request.user.pk in (
        service_request.requester_id,
        service_request.beneficiary_id,
    ) and services.is_approver(request.user)
    return {
        "template": "approvals/request_panel.html",
        "r": service_request,
        "steps": steps,
        "current": current,
        "may_decide": may_decide,
        "approver_names": names,
        # Why a customer administrator's step went to the MSP (nobody decides their own request).
        "routed_reason": routed,
        # The reader, an approver, is the requester or the person it is for: never decides it.
        "own": own,
        # The reader approved an earlier step, and someone else decides this one.
        "second_approval": second_approval,
    }
