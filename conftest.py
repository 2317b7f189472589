"""Personas shared by every test, and the browser for the e2e suite."""

import os
import shutil

import pytest

from accounts.roles import CATALOG_ADMIN, SYSTEM_ADMIN
from accounts.services import user_role_grant
from itsm_sync.models import CompanyType
from tests.accounts.factories import PASSWORD, UserFactory
from tests.itsm_sync.factories import CompanyFactory

PROVIDER = "Calbro Services"


def pytest_configure(config) -> None:
    """The suite runs on PostgreSQL only (make test starts one when none answers): the product's
    guarantees rest on it, so no test needs to skip itself on another database."""
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            f"The tests run on PostgreSQL, not {engine}: unset DATABASE_URL and run `make test`, "
            "which uses the local PostgreSQL or starts a private one."
        )


@pytest.fixture
def provider_company(db):
    """The MSP's own company, where its staff belong."""
    return CompanyFactory(name=PROVIDER, company_type=CompanyType.SERVICE_PROVIDER)


@pytest.fixture
def system_admin(provider_company):
    user = UserFactory(username="sysadmin", company=provider_company)
    return user_role_grant(actor=None, user=user, role=SYSTEM_ADMIN)


@pytest.fixture
def catalog_admin(provider_company):
    user = UserFactory(username="catadmin", company=provider_company)
    return user_role_grant(actor=None, user=user, role=CATALOG_ADMIN)


@pytest.fixture
def plain_user(db):
    """A signed-in person with no role at all (an end user before customers exist)."""
    return UserFactory(username="plain")


@pytest.fixture
def msp_enabled(db):
    """MSP mode switched on by the operator, the way the CLI does it."""
    from customers.services import msp_enable

    return msp_enable(actor=None)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM) or shutil.which("chromium") is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Chromium at {CHROMIUM}; .ci/run installs it.")
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def msp_mode_unlearnt():
    """Each test starts from an empty database: what a process learnt of MSP mode (on for good
    once a customer exists) belongs to the test that taught it."""
    from msp_portal.selectors import msp_mode_unlearn

    msp_mode_unlearn()
    yield
    msp_mode_unlearn()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hashing test passwords with PBKDF2 would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_tenant(*, actor, company_name: str, prefix: str, service_name: str) -> dict:
    """A customer built through the services, as a catalog administrator would: an administrator,
    two end users brought in by a filter, one assigned service offered to everyone."""
    from customers.services import customer_add, end_user_filter_save
    from entitlements.models import AudienceKind
    from entitlements.services import (
        audience_rule_add,
        marketplace_create,
        marketplace_services_add,
    )
    from tests.catalog.factories import ServiceFactory
    from tests.itsm_sync.factories import PersonFactory

    company = CompanyFactory(name=company_name)
    admin_person = PersonFactory(
        company=company,
        remedy_login_id=f"{prefix}-admin",
        first_name="Admin",
        last_name=prefix.title(),
    )
    PersonFactory(
        company=company,
        remedy_login_id=f"{prefix}-eve",
        first_name="Eve",
        last_name="Finch",  # fixed: searches for "ed" must not match Eve by chance
        organization="Finance",
        department="Payroll",
    )
    PersonFactory(
        company=company,
        remedy_login_id=f"{prefix}-ed",
        first_name="Ed",
        last_name="Stone",
        organization="IT",
        department="Desk",
    )
    service = ServiceFactory(name=service_name)
    customer = customer_add(
        actor=actor, company=company, administrators=[admin_person], services=[service]
    )
    end_user_filter_save(actor=actor, customer=customer, name="Everyone", criteria={})
    admin = customer.administrators.get().user
    marketplace = marketplace_create(actor=admin, customer=customer, name="Standard")
    marketplace_services_add(actor=admin, marketplace=marketplace, services=[service])
    audience_rule_add(actor=admin, marketplace=marketplace, kind=AudienceKind.EVERYONE)
    from accounts.models import User

    users = {u.username: u for u in User.objects.filter(company=company)}
    for user in users.values():
        user.set_password(PASSWORD)
        user.save()
    return {
        "customer": customer,
        "company": company,
        "admin": users[f"{prefix}-admin"],
        "eve": users[f"{prefix}-eve"],
        "ed": users[f"{prefix}-ed"],
        "service": service,
        "marketplace": marketplace,
    }


@pytest.fixture
def tenant_a(catalog_admin, msp_enabled):
    return make_tenant(
        actor=catalog_admin, company_name="Acme Corp", prefix="acme", service_name="Laptop"
    )


@pytest.fixture
def tenant_b(catalog_admin, msp_enabled):
    return make_tenant(
        actor=catalog_admin, company_name="Bright Media", prefix="bright", service_name="Phone"
    )


@pytest.fixture
def customer_admin(tenant_a):
    """An administrator of customer A."""
    return tenant_a["admin"]


@pytest.fixture
def end_user(tenant_a):
    """An end user of customer A."""
    return tenant_a["eve"]


@pytest.fixture
def outsider(tenant_b):
    """An administrator of customer B: must never see anything of customer A."""
    return tenant_b["admin"]
