"""The Fulfilment page: what needs attention, a bounded number of queries whatever its size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfilment.models import FulfilmentMode, PushState, TicketPush

from .conftest import submit

pytestmark = pytest.mark.django_db


def _plant(tenant, count: int, state: str = PushState.STUCK, number: str = "") -> list[TicketPush]:
    pushes = []
    for _ in range(count):
        request = submit(tenant)
        push, _created = TicketPush.objects.update_or_create(
            request=request,
            defaults={
                "mode": FulfilmentMode.WORK_ORDER,
                "reference": f"MSP-PORTAL-{request.pk}",
                "state": state,
                "attempts": 5,
                "last_error": "ITSM POST failed with HTTP 500",
                "number": number,
            },
        )
        pushes.append(push)
    return pushes


def _queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("fulfilment:push_list"), params).status_code == 200
    return len(captured)


def test_the_page_costs_the_same_queries_with_2_and_30_rows(
    work_orders, client, catalog_admin, django_assert_max_num_queries
):
    client.force_login(catalog_admin)
    _plant(work_orders, 2)
    small = _queries(client)
    _plant(work_orders, 28)
    with django_assert_max_num_queries(small):
        page = client.get(reverse("fulfilment:push_list"))
    assert page.text.count("Retry") >= 25


def test_needs_attention_shows_stuck_and_failed_not_created(work_orders, client, catalog_admin):
    client.force_login(catalog_admin)
    [stuck] = _plant(work_orders, 1)
    [done] = _plant(work_orders, 1, PushState.CREATED, "WO0000000000042")

    page = client.get(reverse("fulfilment:push_list")).text

    assert f'data-testid="push-{stuck.pk}"' in page
    assert f'data-testid="push-{done.pk}"' not in page
    every = client.get(reverse("fulfilment:push_list"), {"state": ""}).text
    assert "WO0000000000042" in every
    # An unknown state is the default view, not an error.
    assert client.get(reverse("fulfilment:push_list"), {"state": "\x00"}).status_code == 200


def test_a_created_push_is_not_retried(work_orders, client, catalog_admin):
    client.force_login(catalog_admin)
    [done] = _plant(work_orders, 1, PushState.CREATED, "WO0000000000042")

    page = client.post(reverse("fulfilment:push_retry", args=[done.pk]), follow=True).text

    assert "only a stuck or waiting one is sent again" in page
    assert TicketPush.objects.get(pk=done.pk).state == PushState.CREATED
