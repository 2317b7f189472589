"""Personas shared by every test, and the browser for the e2e suite."""

import os
import shutil

import pytest

from accounts.roles import CATALOG_ADMIN, SYSTEM_ADMIN
from accounts.services import user_role_grant
from itsm_sync.models import CompanyType
from tests.accounts.factories import UserFactory
from tests.itsm_sync.factories import CompanyFactory

PROVIDER = "Calbro Services"


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
def fast_password_hashing(settings):
    """Hashing test passwords with PBKDF2 would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
