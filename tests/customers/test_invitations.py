"""Invitations (issue 19): each administrator and end user shows Invited, Active and Last
sign-in; a catalog administrator resends an invitation; the sign-in page has "Forgot password?";
adding a customer says who was invited."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from customers.services import customer_add, end_user_filter_save
from msp_portal.models import AuditEvent
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db):
    return CompanyFactory(name="Acme Corp")


@pytest.fixture
def alice(acme):
    return PersonFactory(
        company=acme, first_name="Alice", last_name="Archer", remedy_login_id="alice"
    )


@pytest.fixture
def customer(catalog_admin, msp_enabled, acme, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return customer_add(actor=catalog_admin, company=acme, administrators=[alice])


# Committed for real: the invitations go out when adding the customer commits.
@pytest.mark.django_db(transaction=True)
def test_adding_a_customer_says_the_invitations_were_sent(
    client, catalog_admin, msp_enabled, acme, alice
):
    nobody = PersonFactory(
        company=acme, first_name="Nils", last_name="Nomail", remedy_login_id="nils", email=""
    )
    client.force_login(catalog_admin)
    response = client.post(
        reverse("customers:customer_add"),
        {"company": acme.pk, "administrators": [alice.pk, nobody.pk]},
        follow=True,
    )
    content = response.content.decode()
    assert "Acme Corp is now a customer. An invitation to choose a password was e-mailed to " in (
        content
    )
    assert "Alice Archer (alice@example.com)" in content
    assert "Nils Nomail has no e-mail in ITSM" in content
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_the_customer_page_shows_each_administrators_invitation_and_sign_in(
    client, catalog_admin, customer
):
    client.force_login(catalog_admin)
    url = reverse("customers:customer_detail", args=[customer.pk])
    admins = client.get(url).content.decode().split('data-testid="administrators"')[1]
    admins = admins.split("</ul>")[0]
    assert "Invited" in admins and "not signed in yet" in admins
    assert "Resend" in admins
    User.objects.filter(username="alice").update(last_login=timezone.now() - timedelta(days=2))
    admins = client.get(url).content.decode().split('data-testid="administrators"')[1]
    admins = admins.split("</ul>")[0]
    assert "Active" in admins and "Last sign-in 2 days ago" in admins
    assert "Resend" not in admins


def test_the_end_user_list_shows_invited_active_and_last_sign_in(
    client, catalog_admin, customer, acme, django_capture_on_commit_callbacks
):
    PersonFactory(company=acme, first_name="Eve", last_name="Early", remedy_login_id="eve")
    PersonFactory(company=acme, first_name="Ed", last_name="Late", remedy_login_id="ed")
    with django_capture_on_commit_callbacks(execute=True):
        end_user_filter_save(actor=catalog_admin, customer=customer, name="All", criteria={})
    User.objects.filter(username="eve").update(last_login=timezone.now())
    client.force_login(catalog_admin)
    content = client.get(reverse("customers:end_user_list", args=[customer.pk])).content.decode()
    rows = {
        name: next(r for r in content.split("<tbody>")[1].split("</tr>") if name in r)
        for name in ("Eve Early", "Ed Late")
    }
    assert "Active" in rows["Eve Early"] and "just now" in rows["Eve Early"]
    assert "Resend" not in rows["Eve Early"]
    assert "Invited" in rows["Ed Late"] and "Resend" in rows["Ed Late"]


def test_a_catalog_administrator_resends_an_invitation(client, catalog_admin, customer):
    alice = User.objects.get(username="alice")
    mail.outbox.clear()
    client.force_login(catalog_admin)
    url = reverse("customers:invitation_resend", args=[customer.pk, alice.pk])
    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "customers:customer_detail", args=[customer.pk]
    )
    assert "A new invitation was e-mailed to Alice Archer (alice@example.com)." in (
        response.content.decode()
    )
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert "/set-password/" in mail.outbox[0].body
    event = AuditEvent.objects.get(action="customer.invitation_resend")
    assert event.after == {"account": "alice"}


def test_resending_to_someone_who_signed_in_says_to_use_forgot_password(
    client, catalog_admin, customer
):
    alice = User.objects.get(username="alice")
    User.objects.filter(pk=alice.pk).update(last_login=timezone.now())
    mail.outbox.clear()
    client.force_login(catalog_admin)
    response = client.post(
        reverse("customers:invitation_resend", args=[customer.pk, alice.pk]), follow=True
    )
    assert "has signed in already" in response.content.decode()
    assert "Forgot password?" in response.content.decode()
    assert mail.outbox == []


def test_resending_to_a_person_of_another_customer_is_404(
    client, catalog_admin, customer, tenant_b
):
    client.force_login(catalog_admin)
    response = client.post(
        reverse("customers:invitation_resend", args=[customer.pk, tenant_b["eve"].pk])
    )
    assert response.status_code == 404


def test_the_sign_in_page_offers_forgot_password(client):
    content = client.post(reverse("login"), {"username": "someone"}).content.decode()
    assert f'href="{reverse("password_reset")}"' in content
    assert "Forgot password?" in content


def test_forgot_password_mails_an_invited_person_a_link(client, customer):
    mail.outbox.clear()
    response = client.post(reverse("password_reset"), {"email": "alice@example.com"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("password_reset_done")
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert "/set-password/" in mail.outbox[0].body


def test_forgot_password_says_the_same_for_an_unknown_address(client, db):
    response = client.post(reverse("password_reset"), {"email": "who@example.com"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("password_reset_done")
    assert "If an account has this address" in response.content.decode()
    assert mail.outbox == []
