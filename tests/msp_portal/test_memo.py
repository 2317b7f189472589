"""The per-request memo: a fact is read once while serving one request, afresh on the next."""

import pytest
from django.urls import reverse

from customers.services import msp_enable
from msp_portal import memo
from msp_portal.models import MspMode
from msp_portal.selectors import msp_mode_enabled

pytestmark = pytest.mark.django_db


def test_outside_a_request_every_call_reads_afresh():
    calls = []
    for _ in range(2):
        memo.memoized("k", lambda: calls.append(1))
    assert len(calls) == 2


def test_a_change_shows_on_the_next_page(client, catalog_admin, msp_enabled):
    """MSP mode switched off by another process between two pages: the next page knows it."""
    client.force_login(catalog_admin)
    url = reverse("customers:customer_list")
    assert "switched off" not in client.get(url).content.decode()
    MspMode.objects.filter(pk=1).update(enabled=False, enabled_at=None)  # no customer yet (M3)
    assert "MSP mode is off" in client.get(url).content.decode()


def test_a_write_through_the_model_is_read_back_in_the_same_request(rf):
    def view(request):
        before = msp_mode_enabled()
        msp_enable(actor=None)
        return before, msp_mode_enabled()

    middleware = memo.RequestMemoMiddleware(view)
    assert middleware(rf.get("/")) == (False, True)
