"""Requests as pages: the request form, My requests, cancelling, and handling by administrators."""

import base64
import csv
import io
import json
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import ServiceStatus
from customers.services import customer_service_remove, customer_services_add
from entitlements.models import RequestStatus, ServiceRequest
from entitlements.services import marketplace_services_add, request_submit, request_transition
from tests.catalog.factories import ServiceFactory

pytestmark = pytest.mark.django_db

# The page layout (navigation, notifications) takes a few queries of its own; the bound leaves
# room for them, and the lists add none per row (pinned by the same-queries test below).
LIST_QUERIES = 16


def _submit(tenant, who="eve", quantity=1, **kwargs) -> ServiceRequest:
    return request_submit(
        actor=tenant[who],
        service=tenant["service"],
        quantity=quantity,
        **{"justification": "For the team", **kwargs},
    )


def _create_url(tenant) -> str:
    return reverse("portal:request_create", args=[tenant["service"].pk])


def _export(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


# --- The request form --------------------------------------------------------------------------


def test_an_end_user_requests_a_service_and_lands_on_my_requests(client, tenant_a):
    client.force_login(tenant_a["eve"])
    response = client.post(
        _create_url(tenant_a), {"quantity": "2", "justification": "New hire"}, follow=True
    )
    request = ServiceRequest.objects.get()
    assert response.redirect_chain[-1][0] == reverse("portal:my_requests")
    assert (request.requester, request.quantity, request.total) == (
        tenant_a["eve"],
        2,
        Decimal("20"),
    )
    assert request.justification == "New hire"
    content = response.content.decode()
    assert f"Request #{request.pk} for 2 × Laptop is submitted" in content
    assert "you can cancel it here" in content


@pytest.mark.parametrize(
    "quantity, message",
    [
        ("0", "Request at least 1."),
        ("-3", "Request at least 1."),
        ("99999999999999999999", "at most 10,000 at a time"),
        ("10001", "at most 10,000 at a time"),
        ("abc", "Enter a whole number"),
        ("1.5", "Enter a whole number"),
        ("", "Enter how many you need."),
    ],
)
def test_bad_quantities_are_refused_and_nothing_is_saved(client, tenant_a, quantity, message):
    client.force_login(tenant_a["eve"])
    response = client.post(_create_url(tenant_a), {"quantity": quantity, "justification": "x"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ServiceRequest.objects.exists()


def test_the_service_limits_bound_the_quantity(client, tenant_a):
    service = tenant_a["service"]
    service.min_quantity, service.max_quantity = 2, 3
    service.save()
    client.force_login(tenant_a["eve"])
    for quantity, message in (("1", "at least 2 of Laptop"), ("4", "at most 3 of Laptop")):
        response = client.post(_create_url(tenant_a), {"quantity": quantity, "justification": "x"})
        assert message in response.content.decode()
    assert not ServiceRequest.objects.exists()
    client.post(_create_url(tenant_a), {"quantity": "3", "justification": "x"})
    assert ServiceRequest.objects.get().quantity == 3


def test_a_priced_service_needs_a_justification(client, tenant_a):
    client.force_login(tenant_a["eve"])
    response = client.post(_create_url(tenant_a), {"quantity": "1", "justification": "   "})
    assert "this service costs credits" in response.content.decode()
    assert not ServiceRequest.objects.exists()


def test_a_free_service_needs_none(client, tenant_a):
    vpn = ServiceFactory(name="VPN", price=Decimal("0"))
    customer_services_add(actor=None, customer=tenant_a["customer"], services=[vpn])
    marketplace_services_add(
        actor=tenant_a["admin"], marketplace=tenant_a["marketplace"], services=[vpn]
    )
    client.force_login(tenant_a["eve"])
    response = client.post(reverse("portal:request_create", args=[vpn.pk]), {"quantity": "1"})
    assert response.status_code == 302
    assert ServiceRequest.objects.get().total == 0


def test_a_service_refusal_shows_on_the_form(client, tenant_a, monkeypatch):
    """Whatever request_submit refuses (here: a rule the form does not know) is shown, not lost."""
    from entitlements import services
    from msp_portal.errors import DomainError

    def refuse(**kwargs):
        raise DomainError("Your company's credits are exhausted. Ask your administrator.")

    monkeypatch.setattr(services, "request_submit", refuse)
    client.force_login(tenant_a["eve"])
    response = client.post(_create_url(tenant_a), {"quantity": "1", "justification": "x"})
    assert response.status_code == 200
    assert "credits are exhausted" in response.content.decode()


def test_requesting_another_customers_service_is_404_and_saves_nothing(client, tenant_a, tenant_b):
    client.force_login(tenant_a["eve"])
    response = client.post(_create_url(tenant_b), {"quantity": "1", "justification": "x"})
    assert response.status_code == 404
    assert not ServiceRequest.objects.exists()


def test_the_request_form_only_accepts_post(client, tenant_a):
    client.force_login(tenant_a["eve"])
    assert client.get(_create_url(tenant_a)).status_code == 405


# --- My requests -------------------------------------------------------------------------------


def test_my_requests_lists_mine_only_with_statuses_and_cancel_buttons(client, tenant_a, tenant_b):
    mine = _submit(tenant_a, justification="x")
    started = _submit(tenant_a, quantity=2)
    request_transition(actor=tenant_a["admin"], request=started, status=RequestStatus.IN_PROGRESS)
    eds = _submit(tenant_a, who="ed")
    theirs = _submit(tenant_b)
    client.force_login(tenant_a["eve"])
    content = client.get(reverse("portal:my_requests")).content.decode()
    assert f"#{mine.pk}<" in content and f"#{started.pk}<" in content
    assert f"#{eds.pk}<" not in content and f"#{theirs.pk}<" not in content
    assert "req-approved" in content and "req-in_progress" in content
    assert reverse("portal:request_cancel", args=[mine.pk]) in content
    assert reverse("portal:request_cancel", args=[started.pk]) not in content


def test_my_requests_filters_open_and_closed(client, tenant_a):
    open_one = _submit(tenant_a)
    closed = _submit(tenant_a)
    request_transition(actor=tenant_a["eve"], request=closed, status=RequestStatus.CANCELLED)
    client.force_login(tenant_a["eve"])
    rows = client.get(reverse("portal:my_requests"), {"state": "open"}).context["page"].rows
    assert rows == [open_one]
    rows = client.get(reverse("portal:my_requests"), {"state": "closed"}).context["page"].rows
    assert rows == [closed]


def test_my_requests_are_keyset_paginated(client, tenant_a):
    for _ in range(52):
        _submit(tenant_a)
    client.force_login(tenant_a["eve"])
    first = client.get(reverse("portal:my_requests")).context["page"]
    assert len(first.rows) == 50 and first.next_cursor
    second = client.get(reverse("portal:my_requests"), {"after": first.next_cursor})
    assert len(second.context["page"].rows) == 2
    assert not {r.pk for r in first.rows} & {r.pk for r in second.context["page"].rows}


@pytest.mark.parametrize("count", [1, 60])
def test_my_requests_query_count_does_not_grow(
    client, tenant_a, django_assert_max_num_queries, count
):
    for _ in range(count):
        _submit(tenant_a)
    client.force_login(tenant_a["eve"])
    with django_assert_max_num_queries(LIST_QUERIES):
        client.get(reverse("portal:my_requests"))


def test_requests_stay_visible_after_the_service_is_unassigned(client, tenant_a, catalog_admin):
    request = _submit(tenant_a)
    customer_service_remove(
        actor=catalog_admin, customer=tenant_a["customer"], service=tenant_a["service"]
    )
    client.force_login(tenant_a["eve"])
    assert "Laptop" not in client.get(reverse("portal:catalog")).content.decode()
    content = client.get(reverse("portal:my_requests")).content.decode()
    assert f"#{request.pk}<" in content and "Laptop" in content
    assert client.get(reverse("portal:request_detail", args=[request.pk])).status_code == 200


def test_requests_stay_visible_after_the_service_is_retired(client, tenant_a):
    request = _submit(tenant_a)
    service = tenant_a["service"]
    service.status = ServiceStatus.RETIRED
    service.save()
    client.force_login(tenant_a["eve"])
    assert f"#{request.pk}<" in client.get(reverse("portal:my_requests")).content.decode()


def test_someone_without_requests_or_customer_gets_403(client, tenant_a, catalog_admin, plain_user):
    for user in (catalog_admin, plain_user):
        client.force_login(user)
        assert client.get(reverse("portal:my_requests")).status_code == 403


# --- Cancelling --------------------------------------------------------------------------------


def test_the_requester_cancels_a_submitted_request(client, tenant_a):
    request = _submit(tenant_a)
    client.force_login(tenant_a["eve"])
    response = client.post(reverse("portal:request_cancel", args=[request.pk]), follow=True)
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED
    assert response.redirect_chain[-1][0] == reverse("portal:my_requests")
    assert f"Request #{request.pk} for Laptop is cancelled" in response.content.decode()


def test_a_request_in_progress_cannot_be_cancelled_and_says_why(client, tenant_a):
    request = _submit(tenant_a)
    request_transition(actor=tenant_a["admin"], request=request, status=RequestStatus.IN_PROGRESS)
    client.force_login(tenant_a["eve"])
    response = client.post(reverse("portal:request_cancel", args=[request.pk]), follow=True)
    request.refresh_from_db()
    assert request.status == RequestStatus.IN_PROGRESS
    assert "ask your administrator or the service desk to cancel it" in unescape(
        response.content.decode()
    )


def test_cancelling_someone_elses_request_is_404(client, tenant_a, tenant_b):
    eves = _submit(tenant_a)
    for user in (tenant_a["ed"], tenant_b["eve"], tenant_b["admin"]):
        client.force_login(user)
        assert client.post(reverse("portal:request_cancel", args=[eves.pk])).status_code == 404
    eves.refresh_from_db()
    assert eves.status == RequestStatus.APPROVED


def test_the_administrator_sees_the_request_but_may_not_cancel_it_for_the_requester(
    client, tenant_a
):
    eves = _submit(tenant_a)
    client.force_login(tenant_a["admin"])
    assert client.post(reverse("portal:request_cancel", args=[eves.pk])).status_code == 403
    eves.refresh_from_db()
    assert eves.status == RequestStatus.APPROVED


def test_cancel_from_the_detail_page_returns_there(client, tenant_a):
    request = _submit(tenant_a)
    client.force_login(tenant_a["eve"])
    response = client.post(reverse("portal:request_cancel", args=[request.pk]), {"next": "detail"})
    assert response.url == reverse("portal:request_detail", args=[request.pk])


# --- The request list of administrators --------------------------------------------------------


def test_a_customer_administrator_sees_their_customers_requests_only(client, tenant_a, tenant_b):
    ours = _submit(tenant_a)
    theirs = _submit(tenant_b)
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("portal:request_list"))
    assert response.context["page"].rows == [ours]
    content = response.content.decode()
    assert "Phone" not in content and f"#{theirs.pk}<" not in content
    assert 'name="customer"' not in content  # no customer picker for customer administrators


def test_a_catalog_administrator_sees_every_customer_and_filters_by_one(
    client, tenant_a, tenant_b, catalog_admin
):
    ours = _submit(tenant_a)
    theirs = _submit(tenant_b)
    client.force_login(catalog_admin)
    url = reverse("portal:request_list")
    assert set(client.get(url).context["page"].rows) == {ours, theirs}
    rows = client.get(url, {"customer": tenant_b["customer"].pk}).context["page"].rows
    assert rows == [theirs]


def test_acting_as_a_customer_starts_from_its_requests(client, tenant_a, tenant_b, catalog_admin):
    _submit(tenant_a)
    theirs = _submit(tenant_b)
    client.force_login(catalog_admin)
    client.post(reverse("customers:switch_company"), {"customer": tenant_b["customer"].pk})
    response = client.get(reverse("portal:request_list"))
    assert response.context["page"].rows == [theirs]
    everyone = client.get(reverse("portal:request_list"), {"customer": ""})
    assert len(everyone.context["page"].rows) == 2


def test_a_crafted_customer_filter_cannot_widen_a_customer_administrators_list(
    client, tenant_a, tenant_b
):
    _submit(tenant_b)
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("portal:request_list"), {"customer": tenant_b["customer"].pk})
    assert response.context["page"].rows == []
    rows = _export(
        client.get(reverse("portal:request_export"), {"customer": tenant_b["customer"].pk})
    )
    assert rows[1:] == []


def test_the_filters_narrow_by_status_service_requester_and_dates(client, tenant_a):
    vpn = ServiceFactory(name="VPN", price=Decimal("0"))
    customer_services_add(actor=None, customer=tenant_a["customer"], services=[vpn])
    marketplace_services_add(
        actor=tenant_a["admin"], marketplace=tenant_a["marketplace"], services=[vpn]
    )
    eves = _submit(tenant_a)
    eds = request_submit(
        actor=tenant_a["ed"], service=vpn, quantity=1, justification="For the team"
    )
    old = _submit(tenant_a)
    ServiceRequest.objects.filter(pk=old.pk).update(
        submitted_at=timezone.now() - timedelta(days=30)
    )
    request_transition(actor=tenant_a["admin"], request=eds, status=RequestStatus.IN_PROGRESS)
    client.force_login(tenant_a["admin"])
    url = reverse("portal:request_list")

    def rows(**params):
        return set(client.get(url, params).context["page"].rows)

    assert rows(status="in_progress") == {eds}
    assert rows(status="open") == {eves, eds, old}
    assert rows(service=vpn.pk) == {eds}
    assert rows(requester="ed") == {eds}
    assert rows(requester="acme-eve") == {eves, old}
    today = timezone.localdate()
    assert rows(date_from=(today - timedelta(days=1)).isoformat()) == {eves, eds}
    assert rows(date_to=(today - timedelta(days=2)).isoformat()) == {old}
    # A bad value is reported and ignored; the other filters still apply.
    response = client.get(url, {"date_from": "yesterday", "service": vpn.pk})
    assert set(response.context["page"].rows) == {eds}
    assert "Enter a valid date" in response.content.decode()


def test_the_filtered_list_comes_back_as_an_htmx_partial(client, tenant_a):
    _submit(tenant_a)
    client.force_login(tenant_a["admin"])
    response = client.get(
        reverse("portal:request_list"), {"status": "fulfilled"}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert "<html" not in content and "No requests match these filters" in content
    assert "status=fulfilled" in content  # the export link keeps the filters


def test_the_request_list_is_keyset_paginated(client, tenant_a):
    for _ in range(51):
        _submit(tenant_a)
    client.force_login(tenant_a["admin"])
    first = client.get(reverse("portal:request_list")).context["page"]
    assert len(first.rows) == 50 and first.next_cursor
    second = client.get(reverse("portal:request_list"), {"after": first.next_cursor})
    assert len(second.context["page"].rows) == 1


@pytest.mark.parametrize("count", [1, 60])
def test_the_request_list_query_count_does_not_grow(
    client, tenant_a, tenant_b, catalog_admin, django_assert_max_num_queries, count
):
    for _ in range(count):
        _submit(tenant_a)
        _submit(tenant_b)
    client.force_login(tenant_a["admin"])
    with django_assert_max_num_queries(LIST_QUERIES):
        client.get(reverse("portal:request_list"), {"status": "approved"})
    client.force_login(catalog_admin)
    with django_assert_max_num_queries(LIST_QUERIES):
        client.get(reverse("portal:request_list"))


def _queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params)
    return len(queries)


def test_the_lists_cost_the_same_queries_with_1_or_60_requests(client, tenant_a, catalog_admin):
    _submit(tenant_a)
    pages = [
        (tenant_a["eve"], reverse("portal:my_requests")),
        (tenant_a["admin"], reverse("portal:request_list")),
        (catalog_admin, reverse("portal:request_list")),
    ]
    before = []
    for user, url in pages:
        client.force_login(user)
        before.append(_queries(client, url, requester="eve"))
    for _ in range(59):
        _submit(tenant_a)
    after = []
    for user, url in pages:
        client.force_login(user)
        after.append(_queries(client, url, requester="eve"))
    assert after == before


@pytest.mark.parametrize("persona", ["end_user", "system_admin", "plain_user"])
def test_people_who_do_not_handle_requests_get_403(client, request, tenant_a, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("portal:request_list")).status_code == 403
    assert client.get(reverse("portal:request_export")).status_code == 403


# --- CSV export --------------------------------------------------------------------------------


def test_the_export_streams_the_filtered_rows_with_a_header(client, tenant_a, tenant_b):
    kept = _submit(tenant_a, quantity=2, justification="=HYPERLINK(1)")
    cancelled = _submit(tenant_a)
    request_transition(actor=tenant_a["eve"], request=cancelled, status=RequestStatus.CANCELLED)
    _submit(tenant_b)
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("portal:request_export"), {"status": "approved"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _export(response)
    assert rows[0][:3] == ["Request", "Submitted", "Customer"]
    assert [r[0] for r in rows[1:]] == [str(kept.pk)]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Customer"] == "Acme Corp" and row["Service"] == "Laptop"
    assert row["Quantity"] == "2" and row["Total"] == "20.00"
    assert row["Justification"] == "'=HYPERLINK(1)"  # never run as a formula


def test_the_export_of_a_catalog_administrator_covers_every_customer(
    client, tenant_a, tenant_b, catalog_admin
):
    _submit(tenant_a)
    _submit(tenant_b)
    client.force_login(catalog_admin)
    rows = _export(client.get(reverse("portal:request_export")))
    assert sorted(r[2] for r in rows[1:]) == ["Acme Corp", "Bright Media"]


def test_the_export_query_count_does_not_grow(client, tenant_a, django_assert_max_num_queries):
    for _ in range(30):
        _submit(tenant_a)
    client.force_login(tenant_a["admin"])
    with django_assert_max_num_queries(10):
        rows = _export(client.get(reverse("portal:request_export")))
    assert len(rows) == 31


# --- Request detail and transitions ------------------------------------------------------------


def test_an_administrator_moves_a_request_through_in_progress_to_fulfilled(client, tenant_a):
    request = _submit(tenant_a, justification="New hire")
    client.force_login(tenant_a["admin"])
    url = reverse("portal:request_detail", args=[request.pk])
    content = client.get(url).content.decode()
    assert "New hire" in content
    for label in ("Start work", "Mark fulfilled", "Reject", "Mark failed", "Cancel request"):
        assert label in content
    transition = reverse("portal:request_transition", args=[request.pk])
    response = client.post(transition, {"status": "in_progress", "note": "Ordered"}, follow=True)
    assert f"Request #{request.pk} is in progress" in response.content.decode()
    response = client.post(transition, {"status": "fulfilled", "note": "Delivered"}, follow=True)
    request.refresh_from_db()
    assert request.status == RequestStatus.FULFILLED and request.status_note == "Delivered"
    content = response.content.decode()
    assert "“Ordered”" in content and "“Delivered”" in content  # the history keeps every note
    assert "Start work" not in content and "nothing more happens to it" in content


def test_a_transition_the_state_machine_refuses_is_explained(client, tenant_a):
    request = _submit(tenant_a)
    client.force_login(tenant_a["admin"])
    response = client.post(
        reverse("portal:request_transition", args=[request.pk]),
        {"status": "approved"},
        follow=True,
    )
    assert f"Request #{request.pk} is approved: it can't become approved" in unescape(
        response.content.decode()
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


def test_a_missing_or_unknown_status_is_explained(client, tenant_a):
    request = _submit(tenant_a)
    client.force_login(tenant_a["admin"])
    url = reverse("portal:request_transition", args=[request.pk])
    for data in ({}, {"status": "teleported"}):
        response = client.post(url, data, follow=True)
        assert response.status_code == 200
        assert "Choose what happens" in response.content.decode() or "does not exist" in (
            response.content.decode()
        )


def test_the_requester_sees_only_cancel_and_cannot_decide(client, tenant_a):
    request = _submit(tenant_a)
    client.force_login(tenant_a["eve"])
    content = client.get(reverse("portal:request_detail", args=[request.pk])).content.decode()
    assert "Cancel request" in content and "Start work" not in content
    assert 'name="note"' not in content
    response = client.post(
        reverse("portal:request_transition", args=[request.pk]), {"status": "in_progress"}
    )
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


def test_others_requests_are_404(client, tenant_a, tenant_b):
    eves = _submit(tenant_a)
    for user in (tenant_b["admin"], tenant_b["eve"], tenant_a["ed"]):
        client.force_login(user)
        assert client.get(reverse("portal:request_detail", args=[eves.pk])).status_code == 404
        url = reverse("portal:request_transition", args=[eves.pk])
        assert client.post(url, {"status": "rejected"}).status_code == 404
    eves.refresh_from_db()
    assert eves.status == RequestStatus.APPROVED


def test_a_catalog_administrator_decides_and_the_history_records_it(
    client, tenant_a, catalog_admin
):
    request = _submit(tenant_a)
    client.force_login(catalog_admin)
    client.post(
        reverse("portal:request_transition", args=[request.pk]),
        {"status": "rejected", "note": "Not in budget"},
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    client.force_login(tenant_a["eve"])
    content = client.get(reverse("portal:my_requests")).content.decode()
    assert "req-rejected" in content and "Not in budget" in content


def test_a_date_range_ending_before_it_starts_is_explained(client, tenant_a):
    _submit(tenant_a)
    client.force_login(tenant_a["admin"])
    today = timezone.localdate()
    response = client.get(
        reverse("portal:request_list"),
        {"date_from": (today + timedelta(days=1)).isoformat(), "date_to": today.isoformat()},
    )
    assert "The end date is before the start date" in response.content.decode()
    assert len(response.context["page"].rows) == 0  # the start date still applies


@pytest.mark.parametrize(
    "values", [["x", "y"], [1, 2], [None, None], ["2025-01-01T00:00:00+00:00", "x"]]
)
def test_a_tampered_cursor_starts_from_the_first_page(client, tenant_a, values):
    request = _submit(tenant_a)
    cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode()
    for user, url in (
        (tenant_a["admin"], "portal:request_list"),
        (tenant_a["eve"], "portal:my_requests"),
    ):
        client.force_login(user)
        response = client.get(reverse(url), {"after": cursor})
        assert response.status_code == 200 and response.context["page"].rows == [request]


def test_a_request_of_a_service_without_questions_shows_no_answers_card(client, tenant_a):
    request = _submit(tenant_a)
    client.force_login(tenant_a["eve"])
    content = client.get(reverse("portal:request_detail", args=[request.pk])).content.decode()
    assert f"#{request.pk}" in content
    assert 'data-testid="request-answers"' not in content
