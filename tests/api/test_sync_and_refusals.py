"""ITSM sync runs through the API against the AR simulator over HTTP, and use cases' refusals
as problems: DomainError a 400 with the service's message, NotAllowed a 403."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from credits.models import CreditEntry
from customers.services import customer_settings_update
from itsm_sync.models import SyncKind, SyncRun, SyncStatus
from tests.itsm_sync.sync_helpers import PASSWORD, USER, running_simulator


@pytest.fixture
def sim_env(monkeypatch):
    for sim in running_simulator(companies=3, people=20, seed=5):
        monkeypatch.delenv("ITSM_FILE", raising=False)
        for name, value in {
            "ITSM_URL": sim.url,
            "ITSM_USER": USER,
            "ITSM_PASSWORD": PASSWORD,
            "ITSM_RETRIES": "0",
            "ITSM_BACKOFF": "0",
        }.items():
            monkeypatch.setenv(name, value)
        yield sim


def test_a_catalog_administrator_starts_a_dry_run_and_reads_it(api_as, catalog_admin, sim_env):
    api = api_as(catalog_admin)
    started = api.post(reverse("api:v1:sync_run_list"), {"kind": "companies", "dry_run": True})
    assert started.status_code == 202, started.content
    run = started.json()["runs"][0]
    assert run["dry_run"] is True and run["kind"] == "companies"
    assert SyncRun.objects.filter(pk=run["id"], dry_run=True).exists()
    listed = api.get(reverse("api:v1:sync_run_list"), {"kind": "companies"})
    assert listed.json()["results"][0]["id"] == run["id"]
    detail = api.get(reverse("api:v1:sync_run_detail", args=[run["id"]]))
    assert detail.status_code == 200 and detail.json()["seen"] > 0


def test_without_a_source_nothing_starts_and_it_says_what_to_set(
    api_as, catalog_admin, monkeypatch
):
    monkeypatch.delenv("ITSM_URL", raising=False)
    monkeypatch.delenv("ITSM_FILE", raising=False)
    response = api_as(catalog_admin).post(reverse("api:v1:sync_run_list"), {"kind": "people"})
    assert response.status_code == 400
    assert "Nothing was started" in response.json()["detail"]
    assert "ITSM_URL" in response.json()["detail"]
    assert not SyncRun.objects.exists()


def test_a_start_while_a_run_of_its_kind_is_going_says_which_and_starts_nothing(
    api_as, catalog_admin, sim_env
):
    going = SyncRun.objects.create(
        kind=SyncKind.PEOPLE, status=SyncStatus.RUNNING, started_at=timezone.now()
    )
    response = api_as(catalog_admin).post(reverse("api:v1:sync_run_list"), {"kind": "all"})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"A people sync is already running (run #{going.pk}, incremental, started by the "
        "schedule). Nothing new was started; try again once it has finished."
    )
    assert list(SyncRun.objects.all()) == [going]


def test_a_use_case_refusal_is_a_400_with_its_message(api_as, catalog_admin, tenant_a):
    response = api_as(catalog_admin).post(
        reverse("api:v1:credit_grant", args=[tenant_a["customer"].pk]),
        {"amount": "10", "reason": "x"},
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "Credit Management is off" in response.json()["detail"]
    assert "Switch it on" in response.json()["detail"]
    assert not CreditEntry.objects.exists()


def test_the_hard_limit_refuses_a_request_the_balance_cannot_cover(api_as, catalog_admin, tenant_a):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=True, alert_threshold=None
    )
    staff = api_as(catalog_admin)
    assert (
        staff.post(
            reverse("api:v1:credit_hard_limit", args=[customer.pk]), {"hard_limit": True}
        ).status_code
        == 200
    )
    response = api_as(tenant_a["eve"]).post(
        reverse("api:v1:request_list"),
        {"service": tenant_a["service"].pk, "quantity": 1, "justification": "x"},
    )
    assert response.status_code == 400
    assert response.json()["detail"]
    assert not CreditEntry.objects.filter(kind="debit").exists()
    account = staff.get(reverse("api:v1:credit_account", args=[customer.pk])).json()
    assert Decimal(account["balance"]) == 0 and account["hard_limit"] is True


def test_a_not_allowed_refusal_is_a_403(api_as, tenant_a):
    # Eve's request is handled by administrators: she may cancel it, never fulfil it.
    from entitlements.services import request_submit

    request = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="x"
    )
    response = api_as(tenant_a["eve"]).post(
        reverse("api:v1:request_transition", args=[request.pk]), {"status": "fulfilled"}
    )
    assert response.status_code == 403
    assert "administrators" in response.json()["detail"]
    assert response["Content-Type"] == "application/problem+json"
    request.refresh_from_db()
    assert request.status != "fulfilled"
