"""The portal's authentication backend answers exactly as Django's ModelBackend would."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts.backends import PortalBackend
from accounts.models import User
from msp_portal.models import Notification

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_permissions_are_those_of_django_for_every_persona(
    system_admin, catalog_admin, plain_user, tenant_a, tenant_b
):
    extra = Permission.objects.get(codename="view_auditevent")
    tenant_a["eve"].user_permissions.add(extra)  # a permission of its own, beside its roles
    people = [system_admin, catalog_admin, plain_user, tenant_a["admin"], tenant_a["eve"]]
    people.append(tenant_b["admin"])
    for person in people:
        ours = PortalBackend().get_all_permissions(_fresh(person))
        django = ModelBackend().get_all_permissions(_fresh(person))
        assert ours == django, person.username
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
    with django_assert_num_queries(1):
        user = PortalBackend().get_user(catalog_admin.pk)
        assert user.company.name
        assert user.unread_notifications == 1
