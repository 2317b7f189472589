"""Personal API tokens (issue 18 item 2): created on the tokens page and shown once, stored as a
hash, revocable, read-only or read-write, last use recorded; staff prove their second factor."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from api.models import ApiToken
from api.services import TOKEN_PREFIX, token_digest
from msp_portal.models import AuditEvent
from tests.api.conftest import ApiClient, make_token


def _create(client, **fields):
    data = {"name": "CRM sync", "expires_in_days": "30", "read_only": "write", **fields}
    return client.post(reverse("api:token_list"), data)


def test_the_token_is_shown_once_and_only_its_hash_is_kept(client, customer_admin):
    client.force_login(customer_admin)
    response = _create(client)
    assert response.status_code == 200
    secret = response.context["new"].secret
    assert secret.startswith("msp_") and secret in response.content.decode()
    token = ApiToken.objects.get(owner=customer_admin)
    assert token.digest == token_digest(secret) and secret not in token.digest
    assert token.prefix == secret[:12] and not token.read_only
    assert AuditEvent.objects.filter(action="api_token.create", object_id=str(token.pk)).exists()
    again = client.get(reverse("api:token_list"))
    assert secret not in again.content.decode()
    assert token.prefix in again.content.decode()


def test_the_token_acts_as_its_owner_and_records_its_last_use(customer_admin, tenant_a):
    secret = make_token(customer_admin)
    response = ApiClient(secret).get(
        reverse("api:v1:credit_account", args=[tenant_a["customer"].pk])
    )
    assert response.status_code == 200
    assert ApiToken.objects.get(owner=customer_admin).last_used_at is not None


def test_a_read_only_token_gets_403_on_a_write(catalog_admin, tenant_a):
    api = ApiClient(make_token(catalog_admin, read_only=True))
    assert api.get(reverse("api:v1:customer_list")).status_code == 200
    response = api.post(
        reverse("api:v1:credit_grant", args=[tenant_a["customer"].pk]),
        {"amount": "10", "reason": "x"},
    )
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]


def test_a_revoked_token_is_refused(client, customer_admin, tenant_a):
    secret = make_token(customer_admin)
    token = ApiToken.objects.get(owner=customer_admin)
    client.force_login(customer_admin)
    response = client.post(reverse("api:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    refused = ApiClient(secret).get(reverse("api:v1:request_list"))
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    assert refused["Content-Type"] == "application/problem+json"


def test_someone_elses_token_cannot_be_revoked(client, customer_admin, outsider):
    make_token(customer_admin)
    token = ApiToken.objects.get(owner=customer_admin)
    client.force_login(outsider)
    assert client.post(reverse("api:token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_an_expired_token_is_refused(customer_admin):
    secret = make_token(customer_admin)
    ApiToken.objects.filter(owner=customer_admin).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = ApiClient(secret).get(reverse("api:v1:request_list"))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_deactivated_owners_token_is_refused(customer_admin):
    secret = make_token(customer_admin)
    customer_admin.is_active = False
    customer_admin.save()
    assert ApiClient(secret).get(reverse("api:v1:request_list")).status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer msp_nonsense", "Bearer ünï"])
def test_a_malformed_or_unknown_token_is_401_saying_what_to_do(client, db, header):
    response = client.get(reverse("api:v1:request_list"), headers={"Authorization": header})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert "token" in response.json()["detail"]


def test_a_customer_administrators_token_sees_only_its_customer(api_as, tenant_a, tenant_b):
    api = api_as(tenant_a["admin"])
    own = api.get(reverse("api:v1:credit_account", args=[tenant_a["customer"].pk]))
    other = api.get(reverse("api:v1:credit_account", args=[tenant_b["customer"].pk]))
    assert own.status_code == 200 and other.status_code == 404


class TestStaffSecondFactor:
    def test_staff_without_an_authenticator_are_told_to_pair_one(self, client, catalog_admin):
        client.force_login(catalog_admin)
        response = _create(client, code="123456")
        assert response.status_code == 400
        assert "pair an authenticator" in response.content.decode()
        assert not ApiToken.objects.exists()

    def test_staff_with_a_wrong_code_get_no_token(self, client, catalog_admin):
        TOTPDevice.objects.create(user=catalog_admin, name="phone", confirmed=True)
        client.force_login(catalog_admin)
        response = _create(client, code="000000")
        assert response.status_code == 400
        assert "code was not accepted" in response.content.decode()
        assert not ApiToken.objects.exists()

    def test_staff_with_a_current_code_get_their_token(self, client, catalog_admin):
        device = TOTPDevice.objects.create(user=catalog_admin, name="phone", confirmed=True)
        client.force_login(catalog_admin)
        response = _create(client, code=f"{totp(device.bin_key):06d}")
        assert response.status_code == 200
        assert ApiToken.objects.filter(owner=catalog_admin).count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Name the token"),
        ({"expires_in_days": "5000"}, "Choose one of the expiry periods"),
        ({"read_only": "admin"}, "Select a valid choice"),
        ({"name": "x" * 101}, "at most 100 characters"),
    ],
)
def test_a_bad_token_form_says_what_to_do_and_creates_nothing(client, end_user, fields, message):
    client.force_login(end_user)
    response = _create(client, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_script_lists_and_revokes_its_own_token_through_the_api(customer_admin, outsider):
    secret = make_token(customer_admin)
    api = ApiClient(secret)
    listed = api.get(reverse("api:v1:token_list")).json()["results"]
    assert [t["prefix"] for t in listed] == [secret[:12]]
    assert "digest" not in listed[0] and secret not in str(listed)
    other = ApiClient(make_token(outsider))
    assert other.post(reverse("api:v1:token_revoke", args=[listed[0]["id"]])).status_code == 404
    revoked = api.post(reverse("api:v1:token_revoke", args=[listed[0]["id"]]))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert api.get(reverse("api:v1:token_list")).status_code == 401


def test_a_token_comes_with_its_owner_and_their_permissions_in_one_query(
    catalog_admin, system_admin, customer_admin, django_assert_num_queries
):
    from django.contrib.auth.backends import ModelBackend

    from api.services import api_token_for

    for owner in (catalog_admin, system_admin, customer_admin):
        secret = make_token(owner)
        api_token_for(secret)  # the first prepares the query for the session
        with django_assert_num_queries(1):
            token = api_token_for(secret)
            assert token.owner.company.name
            permissions = token.owner.get_all_permissions()
        assert permissions == ModelBackend().get_all_permissions(
            type(owner).objects.get(pk=owner.pk)
        )
    assert api_token_for(TOKEN_PREFIX + "x" * 40) is None
