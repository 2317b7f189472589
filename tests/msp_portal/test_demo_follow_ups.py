"""The demo (`make run`) runs follow-up tasks in-process, without a worker. A follow-up that fails
after the user's change has committed is logged there, as a worker would log it: the user is not
shown a server error for a change that was saved (it was, before: the eager task's error rose
into the request, and the person who asked for a laptop saw a 500 for a request that existed)."""

import subprocess
from pathlib import Path

import pytest
from celery import current_app
from django.urls import reverse

from approvals import tasks
from catalog.models import ApprovalPolicy
from entitlements.models import ServiceRequest

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def _demo_env() -> dict[str, str]:
    printed = subprocess.run(
        ["make", "-s", "demo-env"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)


@pytest.fixture
def as_the_demo():
    """Celery as the demo's environment configures it."""
    # Unset, the setting's default (propagate).
    said = _demo_env().get("CELERY_TASK_EAGER_PROPAGATES", "true")
    propagates = said.lower() in ("1", "true", "yes", "on")
    saved = current_app.conf.task_eager_propagates
    current_app.conf.task_eager_propagates = propagates
    yield
    current_app.conf.task_eager_propagates = saved


def _broken(*args, **kwargs):
    raise ConnectionError("the mail server is not answering")


def test_a_failing_follow_up_does_not_turn_a_saved_request_into_an_error_page(
    client, tenant_a, as_the_demo, monkeypatch
):
    service = tenant_a["service"]
    service.approval_policy = ApprovalPolicy.CUSTOMER_ADMIN
    service.save(update_fields=["approval_policy"])
    monkeypatch.setattr(tasks.notify_waiting, "run", _broken)  # the approvers' e-mail
    client.force_login(tenant_a["eve"])
    response = client.post(
        reverse("portal:request_create", args=[service.pk]),
        {"quantity": 1, "justification": "New starter", "submission_key": "d" * 20},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:my_requests")
    assert ServiceRequest.objects.get().requester == tenant_a["eve"]
