"""The pages no story walks through: people groups, the invitation, a removal confirmation, the
company directory, the second sign-in step and the refusal page."""

import re

import pytest
from django.core import mail
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from customers.services import customer_add
from tests.accounts.factories import PASSWORD
from tests.catalog.factories import ServiceFactory
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

from .conftest import login

pytestmark = pytest.mark.e2e


def test_a_system_administrator_keeps_people_groups(page, shot, system_admin):
    login(page, "sysadmin", PASSWORD)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="People groups"
    ).click()
    page.get_by_label("Name").fill("Night shift")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_text("People group Night shift created.")).to_be_visible()
    shot(page, "80-people-groups")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Description").fill("Covers 22:00–06:00")
    shot(page, "81-people-group-edit")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Covers 22:00–06:00")).to_be_visible()
    page.goto("/catalog/")
    expect(page.get_by_role("heading", name="You can't open this page")).to_be_visible()
    shot(page, "82-forbidden")
    assert [e for e in page.console_errors if "403" not in e] == []


def test_a_new_administrator_chooses_a_password_from_the_invitation(
    page, shot, catalog_admin, msp_enabled, django_capture_on_commit_callbacks
):
    acme = CompanyFactory(name="Acme Corp")
    alice = PersonFactory(
        company=acme, first_name="Alice", remedy_login_id="alice", email="alice@acme.example"
    )
    with django_capture_on_commit_callbacks(execute=True):
        customer_add(
            actor=catalog_admin,
            company=acme,
            administrators=[alice],
            services=[ServiceFactory(name="Laptop")],
        )
    link = re.search(r"http://[^/]+(/set-password/\S+)", mail.outbox[-1].body).group(1)
    page.goto(link)
    shot(page, "83-invitation-set-password")
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    page.locator("#id_new_password1").fill("A-long-pass-phrase-42")
    page.locator("#id_new_password2").fill("A-long-pass-phrase-42")
    shot(page, "83-invitation-set-password")
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_role("heading", name="Password saved")).to_be_visible()
    shot(page, "84-invitation-done")
    page.get_by_role("link", name="Sign in").click()
    login(page, "alice", "A-long-pass-phrase-42")
    expect(page.get_by_role("heading", name="Acme Corp")).to_be_visible()
    assert page.console_errors == []


def test_a_catalog_administrator_confirms_a_removal_and_browses_companies(
    page, shot, catalog_admin, msp_enabled
):
    acme = CompanyFactory(name="Acme Corp")
    alice = PersonFactory(company=acme, first_name="Alice", remedy_login_id="alice")
    customer = customer_add(
        actor=catalog_admin,
        company=acme,
        administrators=[alice],
        services=[ServiceFactory(name="Laptop")],
    )
    login(page, "catadmin", PASSWORD)
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_test_id("assigned-services").get_by_role("link", name="Remove").click()
    expect(page.get_by_test_id("removal-impact")).to_contain_text("Nobody")
    shot(page, "85-service-removal-confirm")
    page.get_by_role("button", name="Remove service").click()
    expect(page.get_by_test_id("assigned-services")).to_contain_text("No services assigned yet")
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Companies"
    ).click()
    shot(page, "86-company-directory")
    page.get_by_role("link", name="Acme Corp").first.click()
    expect(page.get_by_role("heading", name="Acme Corp")).to_be_visible()
    shot(page, "87-company-detail")
    assert page.console_errors == []


def test_staff_with_an_authenticator_are_asked_for_a_code(page, shot, system_admin, settings):
    settings.TWO_FACTOR_REQUIRED = True
    TOTPDevice.objects.create(user=system_admin, name="Phone", confirmed=True)
    static = StaticDevice.objects.create(user=system_admin, name="Recovery codes")
    StaticToken.objects.create(device=static, token="abc123-def456")
    login(page, "sysadmin", PASSWORD)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    shot(page, "88-two-factor-verify")
    page.wait_for_timeout(2200)  # django-otp slows down guessing after a wrong code
    page.get_by_label("Code").fill("abc123-def456")
    page.get_by_role("button", name="Verify").click()
    expect(
        page.get_by_role("heading", name=f"Welcome, {system_admin.display_name}")
    ).to_be_visible()
    assert page.console_errors == []
