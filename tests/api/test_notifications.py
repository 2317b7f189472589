"""The caller's own notifications through the API: listed newest first (unread ones only on
asking), marked read one by one or all at once; anyone else's is a 404 and stays unread."""

import pytest
from django.urls import reverse

from msp_portal.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts(customer_admin, end_user):
    older = Notification.objects.create(user=customer_admin, title="Low balance", url="/credits/")
    newer = Notification.objects.create(user=customer_admin, title="Request approved")
    theirs = Notification.objects.create(user=end_user, title="Not yours")
    return older, newer, theirs


def test_the_caller_sees_their_own_newest_first_and_marks_them_read(api_as, customer_admin, alerts):
    older, newer, _theirs = alerts
    api = api_as(customer_admin)
    listed = api.get(reverse("api:v1:notification_list")).json()["results"]
    assert [n["title"] for n in listed] == ["Request approved", "Low balance"]

    response = api.post(reverse("api:v1:notification_read", args=[older.pk]))
    assert response.status_code == 200 and response.json()["read_at"] is not None
    unread = api.get(reverse("api:v1:notification_list"), {"unread": "true"}).json()["results"]
    assert [n["id"] for n in unread] == [newer.pk]

    assert api.post(reverse("api:v1:notification_read_all")).json() == {"marked": 1}
    assert not Notification.objects.filter(user=customer_admin, read_at__isnull=True).exists()


def test_someone_elses_notification_is_not_found_and_stays_unread(api_as, customer_admin, alerts):
    _older, _newer, theirs = alerts
    response = api_as(customer_admin).post(reverse("api:v1:notification_read", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
