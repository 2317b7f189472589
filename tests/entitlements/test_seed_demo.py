"""The demo loads through a real sync, builds two customers, and can run again without change."""

import pytest
from django.core.management import call_command

from accounts.models import User
from credits.models import CreditEntry
from customers.models import Customer
from entitlements.access import visible_services
from entitlements.models import Marketplace
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
    for customer in Customer.objects.all():
        assert customer.administrators.exists() and customer.assignments.count() == 4
    end_user = User.objects.get(username="ajensen")
    assert visible_services(user=end_user)
    before = _counts()
    call_command("seed_demo")
    assert _counts() == before


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
