"""External users and people groups pages of system administrators."""

import pytest
from django.urls import reverse

from accounts.models import PeopleGroup, User
from tests.accounts.factories import PeopleGroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_system_administrator_creates_an_external_user(client, system_admin, provider_company):
    client.force_login(system_admin)
    response = client.post(
        reverse("accounts:external_user_list"),
        {"username": "ext1", "email": "ext1@example.com", "company": provider_company.pk},
        follow=True,
    )
    assert "External user ext1 created" in response.content.decode()
    assert User.objects.get(username="ext1").is_external


def test_the_external_user_form_is_closed_in_msp_mode(client, system_admin, msp_enabled):
    client.force_login(system_admin)
    content = client.get(reverse("accounts:external_user_list")).content.decode()
    assert "external users can't be created" in content


def test_a_crafted_post_in_msp_mode_gets_the_clear_message(
    client, system_admin, provider_company, msp_enabled
):
    client.force_login(system_admin)
    response = client.post(
        reverse("accounts:external_user_list"),
        {"username": "ext1", "email": "ext1@example.com", "company": provider_company.pk},
    )
    assert "External users can&#x27;t be created: MSP mode is on" in response.content.decode()
    assert not User.objects.filter(username="ext1").exists()


def test_a_duplicate_username_is_a_form_error_not_a_crash(client, system_admin, provider_company):
    UserFactory(username="taken")
    client.force_login(system_admin)
    response = client.post(
        reverse("accounts:external_user_list"),
        {"username": "taken", "email": "t@example.com", "company": provider_company.pk},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_opening_a_group_to_collaborators_is_refused_in_msp_mode(client, system_admin, msp_enabled):
    group = PeopleGroupFactory(name="Helpers")
    client.force_login(system_admin)
    response = client.post(
        reverse("accounts:people_group_edit", kwargs={"pk": group.pk}),
        {"name": "Helpers", "open_to_collaborators": "on"},
    )
    assert "collaborators" in response.content.decode()
    group.refresh_from_db()
    assert not group.open_to_collaborators


def test_a_group_is_created_and_edited(client, system_admin):
    client.force_login(system_admin)
    client.post(reverse("accounts:people_group_list"), {"name": "Helpers"})
    group = PeopleGroup.objects.get(name="Helpers")
    client.post(
        reverse("accounts:people_group_edit", kwargs={"pk": group.pk}),
        {"name": "Helpers 2", "open_to_collaborators": "on"},
    )
    group.refresh_from_db()
    assert group.name == "Helpers 2" and group.open_to_collaborators


def test_an_unknown_group_is_404(client, system_admin):
    client.force_login(system_admin)
    assert (
        client.get(reverse("accounts:people_group_edit", kwargs={"pk": 999999})).status_code == 404
    )


class TestDjangoAdmin:
    def test_it_refuses_a_new_external_user_in_msp_mode(
        self, client, system_admin, provider_company, msp_enabled
    ):
        system_admin.is_superuser = True
        system_admin.save()
        client.force_login(system_admin)
        response = client.post(
            reverse("admin:accounts_user_add"),
            {
                "username": "ext9",
                "password1": "A-long-pass-phrase-42",
                "password2": "A-long-pass-phrase-42",
                "usable_password": "true",
                "company": provider_company.pk,
                "is_external": "on",
            },
        )
        assert response.status_code == 200
        assert "External users can&#x27;t be created" in response.content.decode()
        assert not User.objects.filter(username="ext9").exists()

    def test_it_refuses_opening_a_group_in_msp_mode(self, client, system_admin, msp_enabled):
        system_admin.is_superuser = True
        system_admin.save()
        client.force_login(system_admin)
        response = client.post(
            reverse("admin:accounts_peoplegroup_add"),
            {"name": "Helpers", "open_to_collaborators": "on"},
        )
        assert "collaborators" in response.content.decode()
        assert not PeopleGroup.objects.exists()
