"""The crafted query strings and posts that once answered 500, one cause at a time: forged keyset
cursors, NUL bytes in searches, unicode digits in ids, days past the calendar's end.

tests/security/test_bad_input.py sends such values to every parameter of every page; these
tests pin what a person sees instead of the error page.
"""

import base64
import csv
import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from credits.services import credit_grant
from customers.services import customer_settings_update
from entitlements.services import request_submit

pytestmark = pytest.mark.django_db

FAR = "Pick a day between 1900-01-01 and 2999-12-31, or clear it."


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def eves_request(tenant_a):
    return request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="New hire"
    )


@pytest.fixture
def ledger(tenant_a, catalog_admin):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=True, alert_threshold=None
    )
    credit_grant(
        actor=catalog_admin,
        customer=customer,
        amount=Decimal("50"),
        reason="Opening balance",
        idempotency_key="opening",
    )
    return customer


# --- Keyset cursors ----------------------------------------------------------------------------

# No list's keys take these: each answers the first page.
NONSENSE = [
    [None, None, None],
    [None, None],
    ["\x00", "\x00", "\x00"],
    ["\x00", 1],
    [True, False],
    [[], {}],
    [2**70, 2**70],
    ["x", 2**70, 2**70],
]
# Moments that don't exist in UTC, numbers that aren't finite: nonsense as a date (a list
# ordered by date answers its first page), a plain string for a list ordered by name.
ODD = [
    ["9999-12-31T23:59:59-12:00", 1],
    ["0001-01-01T00:00:00+14:00", 1],
    ["2024-01-01T00:00:00+99:99", 1],
    [1e309, 1],
]


@pytest.mark.parametrize("values", NONSENSE + ODD, ids=repr)
@pytest.mark.parametrize(
    "url_name,who",
    [
        ("portal:request_list", "admin"),
        ("portal:my_requests", "eve"),
        ("credits:notification_list", "admin"),
        ("entitlements:access_by_user", "admin"),
        ("entitlements:marketplace_list", "admin"),
    ],
)
def test_a_nonsense_cursor_answers_the_first_page(
    client, tenant_a, eves_request, url_name, who, values
):
    client.force_login(tenant_a[who])
    response = client.get(reverse(url_name), {"after": _cursor(values)})
    assert response.status_code == 200
    if values in NONSENSE or url_name != "entitlements:marketplace_list":
        assert response.context["page"].is_first


@pytest.mark.parametrize("values", NONSENSE + ODD, ids=repr)
def test_a_nonsense_cursor_on_an_msp_list_answers_its_first_page(
    client, catalog_admin, system_admin, values
):
    client.force_login(catalog_admin)
    for url_name in ("catalog:service_list", "itsm_sync:person_list", "itsm_sync:run_list"):
        response = client.get(reverse(url_name), {"after": _cursor(values)})
        assert response.status_code == 200, url_name
        assert response.context["page"].is_first or values in ODD, url_name
    client.force_login(system_admin)
    response = client.get(reverse("audit_event_list"), {"after": _cursor(values)})
    assert response.status_code == 200 and response.context["page"].is_first


# --- NUL bytes in searches ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name,param,who,shown",
    [
        ("customers:customer_list", "q", "catalog_admin", "Acme Corp"),
        ("customers:company_options", "company_q", "catalog_admin", "<option"),
        ("customers:service_options", "service_q", "catalog_admin", ""),
        ("itsm_sync:company_options", "company_q", "catalog_admin", "Acme Corp"),
        ("entitlements:access_by_user", "q", "admin", "Eve"),
        ("entitlements:end_user_options", "user_q", "admin", "Eve"),
        ("entitlements:department_options", "organization", "admin", ""),
        ("portal:catalog", "q", "eve", "Laptop"),
    ],
)
def test_a_nul_byte_in_a_search_is_ignored(
    client, catalog_admin, tenant_a, url_name, param, who, shown
):
    client.force_login(catalog_admin if who == "catalog_admin" else tenant_a[who])
    response = client.get(reverse(url_name), {param: "\x00"})
    assert response.status_code == 200
    assert shown in response.content.decode()


def test_a_nul_byte_among_search_words_leaves_the_words(client, catalog_admin, tenant_a):
    client.force_login(catalog_admin)
    response = client.get(reverse("customers:customer_list"), {"q": "Acme\x00"})
    assert response.status_code == 200
    assert "Acme Corp" in response.content.decode()
    assert "Bright Media" not in response.content.decode()


def test_a_nul_byte_in_a_picker_of_a_marketplace_is_ignored(client, tenant_a):
    client.force_login(tenant_a["admin"])
    url = reverse("entitlements:marketplace_service_options", args=[tenant_a["marketplace"].pk])
    assert client.get(url, {"service_q": "\x00"}).status_code == 200


def test_a_nul_byte_in_a_person_search_is_ignored(client, catalog_admin, tenant_a):
    client.force_login(catalog_admin)
    response = client.get(
        reverse("customers:person_options"),
        {"customer": tenant_a["customer"].pk, "person_q": "Eve\x00"},
    )
    assert response.status_code == 200 and "Eve" in response.content.decode()


def test_a_nul_byte_in_a_filter_form_is_refused_with_a_message(client, tenant_a, eves_request):
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("portal:request_list"), {"requester": "\x00"})
    assert response.status_code == 200
    assert "Null characters are not allowed" in response.content.decode()
    assert response.context["page"].rows == [eves_request]


# --- Unicode digits in ids ---------------------------------------------------------------------


@pytest.mark.parametrize("digits", ["²", "١٢", "𝟙", "1²", "99999999999999999999999"])
def test_unicode_digits_are_not_a_company_of_the_people_picker(
    client, catalog_admin, tenant_a, digits
):
    client.force_login(catalog_admin)
    response = client.get(reverse("customers:person_options"), {"company": digits})
    assert response.status_code == 200
    assert "Choose a company first." in response.content.decode()


@pytest.mark.parametrize("digits", ["²", "١٢", "𝟙"])
def test_unicode_digits_are_not_a_customer_of_the_pickers(client, catalog_admin, tenant_a, digits):
    client.force_login(catalog_admin)
    response = client.get(reverse("customers:person_options"), {"customer": digits})
    assert response.status_code == 200
    assert "Choose a company first." in response.content.decode()
    response = client.get(
        reverse("customers:service_options"), {"customer": digits, "services": digits}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("digits", ["²", "١٢"])
def test_unicode_digits_in_the_access_explainer_are_no_such_person(client, tenant_a, digits):
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("entitlements:explain"), {"user": digits})
    assert response.status_code == 404


def test_unicode_digits_are_not_a_marketplace_of_the_end_user_picker(client, tenant_a):
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("entitlements:end_user_options"), {"marketplace": "²"})
    assert response.status_code == 200 and "Eve" in response.content.decode()


def test_unicode_digits_are_not_a_company_of_the_people_directory(client, catalog_admin):
    client.force_login(catalog_admin)
    assert client.get(reverse("itsm_sync:person_list"), {"company": "²"}).status_code == 200


def test_unicode_digits_are_not_a_customer_to_act_as(client, catalog_admin, tenant_a):
    client.force_login(catalog_admin)
    response = client.post(reverse("customers:switch_company"), {"customer": "²"}, follow=True)
    assert response.status_code == 200
    assert "Choose a customer to act as." in response.content.decode()


def test_unicode_digits_are_not_a_company_to_add_as_a_customer(client, catalog_admin, tenant_a):
    client.force_login(catalog_admin)
    response = client.post(
        reverse("customers:customer_add"), {"company": "²", "administrators": ["²", "١"]}
    )
    assert response.status_code == 200
    assert "choose one from the list" in response.content.decode()


# --- Days past the calendar's end --------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_far_day_on_the_request_list_is_a_clear_form_error(client, tenant_a, eves_request, day):
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("portal:request_list"), {"date_to": day})
    assert response.status_code == 200
    assert FAR in response.content.decode()
    assert response.context["page"].rows == [eves_request]  # the bad filter filters nothing


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_request_export_lists_what_its_page_lists_despite_a_far_day(
    client, tenant_a, eves_request, day
):
    client.force_login(tenant_a["admin"])
    rows = _csv(client.get(reverse("portal:request_export"), {"date_to": day, "date_from": day}))
    assert [r[0] for r in rows[1:]] == [str(eves_request.pk)]


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_far_day_on_the_credit_account_page_is_a_clear_form_error(client, tenant_a, ledger, day):
    client.force_login(tenant_a["admin"])
    url = reverse("credits:account_detail", args=[ledger.pk])
    response = client.get(url, {"date_to": day})
    assert response.status_code == 200
    assert FAR in response.content.decode()
    assert len(response.context["page"].rows) == 1
    partial = client.get(
        url, {"date_to": day}, headers={"HX-Request": "true", "HX-Target": "ledger"}
    )
    assert partial.status_code == 200


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_ledger_export_lists_what_its_page_lists_despite_a_far_day(
    client, tenant_a, ledger, day
):
    client.force_login(tenant_a["admin"])
    rows = _csv(client.get(reverse("credits:ledger_export", args=[ledger.pk]), {"date_to": day}))
    assert [r[5] for r in rows[1:]] == ["Opening balance"]


def test_a_far_day_on_the_audit_trail_is_a_clear_form_error(client, system_admin):
    client.force_login(system_admin)
    response = client.get(reverse("audit_event_list"), {"date_to": "9999-12-31"})
    assert response.status_code == 200
    assert FAR in response.content.decode()


def test_the_last_day_offered_still_filters(client, tenant_a, eves_request):
    client.force_login(tenant_a["admin"])
    response = client.get(
        reverse("portal:request_list"), {"date_from": "1900-01-01", "date_to": "2999-12-31"}
    )
    assert FAR not in response.content.decode()
    assert response.context["page"].rows == [eves_request]
