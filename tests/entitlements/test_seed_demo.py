"""The demo loads through a real sync, builds two customers, and can run again without change."""

import pytest
from django.core.management import call_command

from accounts.models import User
from credits.models import CreditEntry
from customers.models import Customer
from entitlements.access import visible_services
from entitlements.models import Marketplace, RequestStatus, ServiceRequest
from itsm_sync.models import Company, CompanyType, Person
from msp_portal.selectors import msp_mode_enabled

pytestmark = pytest.mark.django_db


def _counts() -> tuple:
    return (
        Company.objects.count(),
        Person.objects.count(),
        User.objects.count(),
        Customer.objects.count(),
        Marketplace.objects.count(),
        CreditEntry.objects.count(),
    )


def test_seed_demo_builds_the_demo_and_is_idempotent(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "sysadmin / demo-sysadmin" in out and "catadmin / demo-catadmin" in out
    assert msp_mode_enabled()
    assert Company.objects.filter(company_type=CompanyType.MANUFACTURER).exists()
    assert Company.objects.filter(name="Global").exists()
    assert Customer.objects.count() == 2
    assigned = {"Pacific Capital S.A.": 5, "Bright Media LLC": 4}
    for customer in Customer.objects.select_related("company"):
        assert customer.administrators.exists()
        assert customer.assignments.count() == assigned[customer.company.name]
    end_user = User.objects.get(username="ajensen")
    assert visible_services(user=end_user)
    before = _counts()
    call_command("seed_demo")
    assert _counts() == before


def test_the_demo_has_a_request_waiting_for_approval(capsys):
    from approvals.models import ApprovalStep, StepKind

    call_command("seed_demo")
    waiting = ServiceRequest.objects.get(status=RequestStatus.AWAITING_APPROVAL)
    assert waiting.service.name == "Developer workstation"
    assert waiting.requester.username == "ajensen"
    assert waiting.service.questions.count() == 4
    assert [(a.label, a.display) for a in waiting.answers.order_by("position")][:2] == [
        ("What will it be used for?", "Data engineering"),
        ("Operating system", "Linux"),
    ]
    assert list(ApprovalStep.objects.filter(request=waiting).values_list("kind", flat=True)) == [
        StepKind.CUSTOMER_ADMIN,
        StepKind.MSP,
    ]
    assert (
        f"Request #{waiting.pk} (1 × Developer workstation, by ajensen) is awaiting approval"
        in (capsys.readouterr().out)
    )
    call_command("seed_demo")
    assert ServiceRequest.objects.filter(service=waiting.service).count() == 1


def test_seed_demo_can_leave_msp_mode_off(capsys):
    call_command("seed_demo", "--without-msp")
    assert not msp_mode_enabled()
    assert not Customer.objects.exists()
    assert "MSP mode is off" in capsys.readouterr().out


def test_seed_demo_says_plainly_that_sso_needs_a_provider(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "the demo configures none" in out
    assert "/sso/oidc/<slug>/login/callback/" in out and "/sso/saml/<slug>/acs/" in out
