"""Approvers told a step waits for them, in the app (the bell) and by e-mail with their own signed
approve and reject links (R3)."""

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from msp_portal.models import Notification
from msp_portal.notify import notifications_mail
from msp_portal.text import one_full_stop

from .links import link_url, max_age_days
from .models import ApprovalStep, LinkDecision, StepKind, StepStatus
from .services import approval_links_make, routed_reason, step_approvers

TITLE_MAX = Notification._meta.get_field("title").max_length


def answers_of(request) -> list[tuple[str, str]]:
    """The request's answers as asked (question, answer), where the service asked any."""
    if not hasattr(request, "answers"):
        return []
    return [(a.label, a.display) for a in request.answers.all()]


def _base() -> str:
    return settings.PORTAL_BASE_URL.rstrip("/")


def _facts(step: ApprovalStep) -> str:
    request = step.request
    total = f"{request.total:.2f} credits" if request.total else "free"
    lines = [
        f"{request.requester.display_name} asked for {request.quantity} × {request.service.name}"
        + (f" for {request.beneficiary.display_name}" if request.is_for_colleague else "")
        + f" ({request.customer}), total {total}.",
    ]
    if request.justification:
        lines.append(f"Justification: {request.justification}")
    answers = answers_of(request)
    if answers:
        lines.append("Answers:")
        lines += [f"- {question}: {answer or '(no answer)'}" for question, answer in answers]
    steps = request.approval_steps.count()
    if step.routed_to_msp:
        who = (
            f"an MSP catalog administrator, because nobody else at {request.customer} can decide "
            f"it ({routed_reason(request)}, and nobody decides their own request); any one of "
            "you decides"
        )
    elif step.kind == StepKind.CUSTOMER_ADMIN:
        who = f"an administrator of {request.customer}; any one of them decides"
    else:
        who = "an MSP catalog administrator; any one of them decides"
    lines.append(f"\nYou are asked as {who} (step {step.order} of {steps}).")
    return "\n".join(lines)


def _title(step: ApprovalStep, reminder: int) -> str:
    request = step.request
    head = "Reminder: approval needed" if reminder else "Approval needed"
    title = f"{head}: request #{request.pk}, {request.quantity} × {request.service.name}"
    return title[:TITLE_MAX]


def step_waiting_send(*, step_id: int, round: int = 0) -> int:
    """Tell each approver of a waiting step, once per mailing (round 0 when it starts waiting, n
    for the n-th reminder): a notification and an e-mail carrying links of their own. Safe to
    run twice: the notification is keyed and each e-mail is claimed (mailed_at) before it goes.
    Returns how many e-mails were sent."""
    step = (
        ApprovalStep.objects.select_related(
            "request__service", "request__requester", "request__beneficiary", "request__customer"
        )
        .filter(pk=step_id)
        .first()
    )
    if step is None or step.status != StepStatus.PENDING or step.waiting_since is None:
        return 0
    approvers = list(step_approvers(step=step))
    if not approvers:
        return 0
    key = f"approvals.step:{step.pk}:{round}"
    page = reverse("portal:request_detail", args=[step.request_id])
    title = _title(step, round)
    facts = _facts(step)
    Notification.objects.bulk_create(
        (
            Notification(
                user=user,
                title=title,
                body=one_full_stop(facts.splitlines()[0]),
                url=page,
                key=key,
            )
            for user in approvers
        ),
        ignore_conflicts=True,
    )
    links = approval_links_make(step=step, approvers=approvers, round=round)
    days = max_age_days()
    until = date_format(timezone.localtime(timezone.now() + timedelta(days=days)), "j M Y")

    def body(note: Notification) -> str:
        link = links[note.user_id]
        return (
            f"{facts}\n\n"
            f"Approve: {link_url(link=link, decision=LinkDecision.APPROVE)}\n\n"
            f"Reject: {link_url(link=link, decision=LinkDecision.REJECT)}\n\n"
            "Each link opens a page where you confirm the decision and may add a note; nothing "
            "happens until you confirm. The links are yours alone (they work only when you are "
            f"signed in as {note.user.display_name}), work once, and expire after {days} days "
            f"({until}).\n\n"
            f"All requests waiting for you: {_base()}{reverse('approvals:approval_list')}\n"
            f"This request: {_base()}{page}"
        )

    return notifications_mail(users=approvers, key=key, body=body)


def decision_send(*, step_id: int) -> int:
    """Tell the requester, and the colleague the request is for, what an approver decided, with
    the note (in the app and by e-mail, once however often it runs). Returns how many were told."""
    step = (
        ApprovalStep.objects.select_related(
            "request__service", "request__requester", "request__beneficiary", "request__customer"
        )
        .filter(pk=step_id)
        .first()
    )
    if step is None or step.status not in (StepStatus.APPROVED, StepStatus.REJECTED):
        return 0
    request = step.request
    people = [request.requester]
    if request.is_for_colleague:
        people.append(request.beneficiary)
    what = f"{request.quantity} × {request.service.name}" + (
        f" for {request.beneficiary.display_name}" if request.is_for_colleague else ""
    )
    if step.status == StepStatus.REJECTED:
        title = f"Request #{request.pk} rejected"
        outcome = "It is rejected" + (
            f"; its {request.total:.2f} credits are refunded." if request.total else "."
        )
    elif request.approval_steps.filter(status=StepStatus.PENDING).exists():
        by = "an MSP catalog administrator" if step.routed_to_msp else "your administrator"
        title = f"Request #{request.pk}: approved by {by}"
        outcome = "It now waits for an MSP catalog administrator."
    else:
        title = f"Request #{request.pk} approved"
        outcome = "It is approved and goes on to fulfilment."
    note = f' Their note: "{step.note}"' if step.note else ""
    page = reverse("portal:request_detail", args=[request.pk])
    body = (
        f"{step.decided_by_label} {step.get_status_display().lower()} request #{request.pk} "
        f"({what}).{note} {outcome}\n\nThe request and its timeline: {_base()}{page}"
    )
    key = f"approvals.decided:{step.pk}"
    Notification.objects.bulk_create(
        (
            Notification(user=u, title=title[:TITLE_MAX], body=body, url=page, key=key)
            for u in people
        ),
        ignore_conflicts=True,
    )
    notifications_mail(users=people, key=key)
    return len(people)
