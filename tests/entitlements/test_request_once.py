"""A double submit of the request form makes one request and one debit (K3): the form carries a
one-time key drawn with the page, kept on the request under a unique constraint."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from html import unescape

import pytest
from django.db import connections, transaction
from django.test import Client
from django.urls import reverse

from credits.models import CreditAccount, CreditEntry
from entitlements.models import ServiceRequest
from entitlements.services import RequestAlreadySubmitted, request_submit
from tests.credits.factories import credit_management_on


@pytest.fixture
def credits_on(tenant_a, catalog_admin):
    customer = tenant_a["customer"]
    credit_management_on(actor=catalog_admin, customer=customer)
    return customer


def _balance(customer) -> Decimal:
    return CreditAccount.objects.get(customer=customer).balance


def _form_key(client, tenant) -> str:
    """The one-time key of the request form, as the service page draws it."""
    page = client.get(reverse("portal:service_detail", args=[tenant["service"].pk]))
    found = re.search(
        r'<input type="hidden" name="submission_key" value="([^"]+)"', page.content.decode()
    )
    assert found, "the request form carries a hidden one-time key"
    return found.group(1)


def _post(client, tenant, key: str, quantity: str = "2"):
    return client.post(
        reverse("portal:request_create", args=[tenant["service"].pk]),
        {"quantity": quantity, "justification": "New hire", "submission_key": key},
    )


@pytest.mark.django_db
def test_a_replayed_form_makes_one_request_one_debit_and_shows_the_first(
    client, tenant_a, credits_on
):
    client.force_login(tenant_a["eve"])
    key = _form_key(client, tenant_a)

    first = _post(client, tenant_a, key)
    again = _post(client, tenant_a, key)

    request = ServiceRequest.objects.get()
    assert first.status_code == 302 and first.url == reverse("portal:my_requests")
    assert again.status_code == 302
    assert again.url == reverse("portal:request_detail", kwargs={"pk": request.pk})
    shown = client.get(again.url)
    content = unescape(shown.content.decode())
    assert f"You submitted this form already: it made request #{request.pk}" in content
    assert "nothing was charged again" in content
    assert CreditEntry.objects.filter(kind="debit").count() == 1
    assert _balance(credits_on) == Decimal("80")


@pytest.mark.django_db
def test_each_drawing_of_the_form_has_its_own_key_so_ordering_again_works(
    client, tenant_a, credits_on
):
    client.force_login(tenant_a["eve"])
    first_key, second_key = _form_key(client, tenant_a), _form_key(client, tenant_a)
    assert first_key != second_key
    assert _post(client, tenant_a, first_key).status_code == 302
    assert _post(client, tenant_a, second_key).status_code == 302
    assert ServiceRequest.objects.count() == 2
    assert _balance(credits_on) == Decimal("60")


@pytest.mark.django_db
def test_a_form_refused_by_its_rules_keeps_its_key_for_the_corrected_submit(
    client, tenant_a, credits_on
):
    client.force_login(tenant_a["eve"])
    key = _form_key(client, tenant_a)
    refused = _post(client, tenant_a, key, quantity="0")
    assert refused.status_code == 200
    assert f'name="submission_key" value="{key}"' in refused.content.decode()
    assert _post(client, tenant_a, key).status_code == 302
    assert ServiceRequest.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["x" * 5000, "<script>", "short", "\x00" * 20, "²" * 20])
def test_a_crafted_key_is_no_key_and_no_error(client, tenant_a, credits_on, key):
    client.force_login(tenant_a["eve"])
    assert _post(client, tenant_a, key).status_code == 302
    assert _post(client, tenant_a, key).status_code == 302
    assert set(ServiceRequest.objects.values_list("submission_key", flat=True)) == {""}
    assert ServiceRequest.objects.count() == 2


@pytest.mark.django_db
def test_the_service_returns_the_first_request_for_a_replayed_key_per_requester(
    tenant_a, credits_on
):
    def submit(who: str):
        return request_submit(
            actor=tenant_a[who],
            service=tenant_a["service"],
            quantity=1,
            justification="x",
            submission_key="same-key-0123456789",
        )

    first = submit("eve")
    with pytest.raises(RequestAlreadySubmitted) as replay:
        submit("eve")
    assert replay.value.request == first
    # Keys are per requester: Ed's form happening to carry the same key is his own request.
    eds = submit("ed")
    assert eds != first
    assert ServiceRequest.objects.count() == 2
    assert _balance(credits_on) == Decimal("80")


@pytest.mark.django_db(transaction=True)
def test_a_second_submit_while_the_first_is_uncommitted_waits_and_shows_the_first(
    tenant_a, credits_on
):
    """Two connections: the second INSERT waits on the unique key until the first commits."""
    submit = {
        "actor": tenant_a["eve"],
        "service": tenant_a["service"],
        "quantity": 2,
        "justification": "x",
        "submission_key": "race-key-0123456789",
    }
    inserted, outcome = threading.Event(), {}

    def second() -> None:
        inserted.wait(10)
        started = time.monotonic()
        try:
            request_submit(**submit)
            outcome["result"] = "created"
        except RequestAlreadySubmitted as replay:
            outcome["result"] = replay.request.pk
        finally:
            outcome["waited"] = time.monotonic() - started
            connections.close_all()

    thread = threading.Thread(target=second)
    thread.start()
    with transaction.atomic():
        first = request_submit(**submit)
        inserted.set()
        time.sleep(1.5)  # the second submit is now blocked on the unique key
    thread.join(10)

    assert outcome["result"] == first.pk
    assert outcome["waited"] >= 0.5  # it waited for the first to commit
    assert ServiceRequest.objects.count() == 1
    assert CreditEntry.objects.filter(kind="debit").count() == 1
    assert _balance(credits_on) == Decimal("80")


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_posts_of_one_form_make_one_request(tenant_a, credits_on):
    browser = Client()
    browser.force_login(tenant_a["eve"])
    key = _form_key(browser, tenant_a)
    start = threading.Barrier(8)

    def post(_: int) -> int:
        client = Client()
        client.force_login(tenant_a["eve"])
        try:
            start.wait(10)
            return _post(client, tenant_a, key).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, range(8)))

    assert statuses == [302] * 8
    assert ServiceRequest.objects.count() == 1
    assert CreditEntry.objects.filter(kind="debit").count() == 1
    assert _balance(credits_on) == Decimal("80")


@pytest.mark.django_db
def test_a_replay_after_access_was_withdrawn_still_names_the_first_request(tenant_a):
    eve, service = tenant_a["eve"], tenant_a["service"]
    first = request_submit(
        actor=eve, service=service, quantity=1, justification="x", submission_key="k" * 24
    )
    tenant_a["marketplace"].rules.all().delete()  # Eve loses access between the two posts
    with pytest.raises(RequestAlreadySubmitted) as replay:
        request_submit(
            actor=eve, service=service, quantity=1, justification="x", submission_key="k" * 24
        )
    assert replay.value.request == first
