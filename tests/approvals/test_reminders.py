"""Reminders: a step left waiting APPROVAL_REMINDER_DAYS is reminded once per interval, however
often the task runs; the reminder carries fresh links; a decided step is reminded no more."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from approvals import tasks
from approvals.models import ApprovalLink, ApprovalStep
from approvals.notify import step_waiting_send
from approvals.services import approval_decide, approval_reminders_due

pytestmark = pytest.mark.django_db


def age(step_of, days: float) -> None:
    ApprovalStep.objects.filter(request=step_of).update(
        waiting_since=timezone.now() - timedelta(days=days)
    )


def reminders() -> list:
    return [m for m in mail.outbox if m.subject.startswith("Reminder:")]


def test_a_step_waiting_too_long_is_reminded_once_per_interval(
    acme, submit, settings, django_capture_on_commit_callbacks
):
    settings.APPROVAL_REMINDER_DAYS = 3
    request = submit(acme)
    age(request, 2)
    assert approval_reminders_due() == []
    age(request, 4)
    for _ in range(3):  # beat ran more than once, or two workers ran it
        with django_capture_on_commit_callbacks(execute=True):
            tasks.remind()
    assert len(reminders()) == 1
    step = ApprovalStep.objects.get(request=request)
    assert step.reminders_sent == 1
    # The reminder has links of its own (its own round), valid for the full period again.
    assert ApprovalLink.objects.filter(step=step, round=1).count() == 1

    # Three days after the reminder: one more, and only one.
    ApprovalStep.objects.filter(pk=step.pk).update(
        reminded_at=timezone.now() - timedelta(days=3, minutes=1)
    )
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.remind()
    assert len(reminders()) == 2


def test_the_mailing_of_a_step_is_sent_once_however_often_it_runs(acme, submit):
    request = submit(acme)
    step = ApprovalStep.objects.get(request=request)
    sent = len(mail.outbox)
    assert sent == 1
    assert step_waiting_send(step_id=step.pk, round=0) == 0
    assert len(mail.outbox) == sent


def test_a_decided_step_is_reminded_no_more(acme, submit, settings):
    settings.APPROVAL_REMINDER_DAYS = 1
    request = submit(acme)
    approval_decide(actor=acme["admin"], request=request, approve=True, note="")
    age(request, 5)
    assert approval_reminders_due() == []


def test_reminders_can_be_switched_off(acme, submit, settings):
    settings.APPROVAL_REMINDER_DAYS = 0
    request = submit(acme)
    age(request, 30)
    assert approval_reminders_due() == []


def test_beat_runs_the_reminders_every_hour(settings):
    from celery import current_app

    entry = settings.CELERY_BEAT_SCHEDULE["approvals-remind"]
    assert (entry["task"], entry["schedule"]) == ("approvals.remind", 3600.0)
    assert "approvals.remind" in current_app.tasks
