"""The portal's authentication backend answers exactly as Django's ModelBackend would."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, Permission
from django.utils import timezone

from accounts.backends import PortalBackend
from accounts.models import User
from msp_portal.models import Notification
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def _personas(system_admin, catalog_admin, plain_user, tenant_a, tenant_b) -> list[User]:
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    extra = Permission.objects.get(codename="view_auditevent")
    tenant_a["eve"].user_permissions.add(extra)  # a permission of its own, beside its roles
    both = UserFactory(username="both-roles", company=catalog_admin.company)
    both.groups.set(catalog_admin.groups.all() | system_admin.groups.all())
    gone = UserFactory(username="gone", is_active=False)
    gone.groups.set(catalog_admin.groups.all())
    return [
        system_admin,
        catalog_admin,
        both,
        superuser,
        plain_user,
        gone,
        *(tenant[name] for tenant in (tenant_a, tenant_b) for name in ("admin", "eve", "ed")),
    ]


def _codes() -> list[str]:
    """Every permission there is, as "app_label.codename"."""
    return [
        f"{app}.{code}"
        for app, code in Permission.objects.values_list("content_type__app_label", "codename")
    ]


def test_permissions_are_those_of_django_for_every_persona(
    system_admin, catalog_admin, plain_user, tenant_a, tenant_b
):
    """PortalBackend loads permissions in one query of its own (bench/pages: about 2 ms a page)."""
    people = _personas(system_admin, catalog_admin, plain_user, tenant_a, tenant_b)
    codes = _codes()
    apps = {code.split(".")[0] for code in codes}
    for person in [*people, AnonymousUser()]:
        ours, django = PortalBackend(), ModelBackend()
        label = person.username or "anonymous"
        theirs_user = person if person.is_anonymous else _fresh(person)
        our_user = person if person.is_anonymous else _fresh(person)
        assert ours.get_all_permissions(our_user) == django.get_all_permissions(theirs_user), label
        assert [ours.has_perm(our_user, c) for c in codes] == [
            django.has_perm(theirs_user, c) for c in codes
        ], label
        assert {a for a in apps if ours.has_module_perms(our_user, a)} == {
            a for a in apps if django.has_module_perms(theirs_user, a)
        }, label
        assert ours.get_all_permissions(our_user, obj=tenant_a["customer"]) == set(), label
    assert "msp_portal.view_auditevent" in PortalBackend().get_all_permissions(
        _fresh(tenant_a["eve"])
    )


def test_a_role_taken_away_counts_on_the_next_request(catalog_admin):
    assert PortalBackend().has_perm(_fresh(catalog_admin), "customers.view_customer")
    catalog_admin.groups.clear()
    assert not PortalBackend().has_perm(_fresh(catalog_admin), "customers.view_customer")


def test_an_inactive_user_has_no_permission(catalog_admin):
    catalog_admin.is_active = False
    catalog_admin.save()
    assert PortalBackend().get_all_permissions(_fresh(catalog_admin)) == set()


def test_the_user_comes_with_the_company_and_the_bell_count_in_one_query(
    catalog_admin, django_assert_num_queries
):
    Notification.objects.create(user=catalog_admin, title="Unread")
    Notification.objects.create(user=catalog_admin, title="Read", read_at=timezone.now())
    PortalBackend().get_user(catalog_admin.pk)  # the first prepares the query for the session
    with django_assert_num_queries(1):
        user = PortalBackend().get_user(catalog_admin.pk)
        assert user.company.name
        assert user.unread_notifications == 1
        # and its roles' permissions, which every page's navigation asks (PostgreSQL)
        assert user.has_perm("customers.view_customer")
        assert not user.has_perm("msp_portal.manage_msp_mode")


def test_permissions_loaded_with_the_user_are_those_of_django_for_every_persona(
    system_admin, catalog_admin, plain_user, tenant_a, tenant_b
):
    people = _personas(system_admin, catalog_admin, plain_user, tenant_a, tenant_b)
    codes = _codes()
    for person in people:
        loaded = User.objects.get(pk=person.pk)
        loaded.is_active = True  # get_user answers only active accounts; load them all alike
        loaded.save()
        ours = PortalBackend().get_user(person.pk)
        theirs = _fresh(person)
        assert ours.get_all_permissions() == ModelBackend().get_all_permissions(theirs), person
        assert [ours.has_perm(c) for c in codes] == [
            ModelBackend().has_perm(theirs, c) for c in codes
        ], person


def test_a_role_given_counts_on_the_next_request(catalog_admin, system_admin):
    assert not PortalBackend().get_user(catalog_admin.pk).has_perm("msp_portal.manage_msp_mode")
    catalog_admin.groups.add(*system_admin.groups.all())
    assert PortalBackend().get_user(catalog_admin.pk).has_perm("msp_portal.manage_msp_mode")
