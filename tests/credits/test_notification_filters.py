"""The notifications list's filter (a django-filter FilterSet over the user's own notifications)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from msp_portal.models import Notification

pytestmark = pytest.mark.django_db
URL = reverse("credits:notification_list")


@pytest.fixture
def notes(tenant_a, tenant_b):
    read = Notification.objects.create(user=tenant_a["admin"], title="Read one")
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    Notification.objects.create(user=tenant_a["admin"], title="Unread one")
    Notification.objects.create(user=tenant_b["admin"], title="Not yours, unread")


def _titles(response) -> list[str]:
    return [n.title for n in response.context["page"].rows]


def test_unread_narrows_to_my_unread_notifications(client, tenant_a, notes):
    client.force_login(tenant_a["admin"])
    assert _titles(client.get(URL)) == ["Unread one", "Read one"]
    response = client.get(URL, {"unread": "1"})
    assert _titles(response) == ["Unread one"] and response.context["unread_only"]


@pytest.mark.parametrize("value", ["2", "true", "\x00", "١"])
def test_a_crafted_unread_value_is_ignored(client, tenant_a, notes, value):
    client.force_login(tenant_a["admin"])
    response = client.get(URL, {"unread": value})
    assert response.status_code == 200
    assert _titles(response) == ["Unread one", "Read one"]
    assert not response.context["unread_only"]
