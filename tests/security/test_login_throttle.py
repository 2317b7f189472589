"""Sign-in throttling: a username at one address, and an address spraying many usernames."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SPRAYER = "203.0.113.7"
# Failed sign-ins of this many different usernames lock an address (AXES_ADDRESS_USERNAME_LIMIT).
ADDRESS_LIMIT = 8


def _attempt(username: str, password: str = "Winter2024!", ip: str = SPRAYER):
    return Client(REMOTE_ADDR=ip).post(
        reverse("login"), {"username": username, "password": password}
    )


def test_an_address_failing_across_many_usernames_is_locked_out(system_admin, settings):
    for n in range(ADDRESS_LIMIT - 1):
        assert _attempt(f"victim{n}").status_code == 200  # the form again, "not right"
    assert _attempt("victim-last").status_code == 429
    response = _attempt("sysadmin", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-ins from your network address" in page
    assert "15 minutes" in page


def test_eight_usernames_with_one_password_each_are_caught(system_admin, settings):
    """The spray that passed before: one password tried on eight usernames from one address."""
    for n in range(8):
        _attempt(f"victim{n}")
    assert _attempt("sysadmin", PASSWORD).status_code == 429


def test_other_addresses_still_sign_in_while_one_is_locked(system_admin, settings):
    for n in range(ADDRESS_LIMIT):
        _attempt(f"victim{n}")
    assert _attempt("sysadmin", PASSWORD, ip="198.51.100.20").status_code == 302


def test_a_few_typos_at_one_address_lock_nobody(system_admin, settings):
    """A shared office address with a few mistyped passwords keeps working."""
    for n in range(ADDRESS_LIMIT - 1):
        _attempt(f"colleague{n}")
    assert _attempt("sysadmin", PASSWORD).status_code == 302


def test_the_per_username_lock_still_holds(system_admin, settings):
    assert settings.AXES_FAILURE_LIMIT < ADDRESS_LIMIT
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt("sysadmin")
    response = _attempt("sysadmin", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins for this account" in response.content.decode()
    # The address itself is not locked: another person there still signs in.
    UserFactory(username="colleague")
    assert _attempt("colleague", PASSWORD).status_code == 302


def test_signing_in_to_ones_own_account_does_not_reset_the_address_count(system_admin, settings):
    UserFactory(username="mallory")
    for n in range(ADDRESS_LIMIT - 1):
        _attempt(f"victim{n}")
    assert _attempt("mallory", PASSWORD).status_code == 302
    _attempt("victim-last")
    assert _attempt("sysadmin", PASSWORD).status_code == 429


def test_a_successful_sign_in_clears_its_own_failures(system_admin, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt("sysadmin")
    assert _attempt("sysadmin", PASSWORD).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt("sysadmin")
    assert _attempt("sysadmin", PASSWORD).status_code == 302


PROXY = "10.0.0.2"


def _through_proxy(username: str, client_ip: str, password: str = "Winter2024!"):
    # The client may send its own X-Forwarded-For; the proxy appends the address it saw.
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.99, {client_ip}").post(
        reverse("login"), {"username": username, "password": password}
    )


def test_behind_a_proxy_only_the_spraying_client_is_locked(system_admin, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(ADDRESS_LIMIT):
        _through_proxy(f"victim{n}", SPRAYER)
    assert _through_proxy("sysadmin", SPRAYER, PASSWORD).status_code == 429
    assert _through_proxy("sysadmin", "198.51.100.20", PASSWORD).status_code == 302


def test_without_a_trusted_proxy_a_forged_forwarded_address_changes_nothing(system_admin):
    for n in range(ADDRESS_LIMIT):
        Client(REMOTE_ADDR=SPRAYER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").post(
            reverse("login"), {"username": f"victim{n}", "password": "Winter2024!"}
        )
    assert _attempt("sysadmin", PASSWORD).status_code == 429
