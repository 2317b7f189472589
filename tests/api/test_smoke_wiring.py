"""Each endpoint answers its persona with the same data the pages show (wiring)."""

from decimal import Decimal

from django.urls import reverse

from credits.services import credit_grant
from customers.services import customer_settings_update


def test_customer_admin_token_lists_only_own_customers_requests(api_as, tenant_a, tenant_b):
    from entitlements.services import request_submit

    mine = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="work"
    )
    theirs = request_submit(
        actor=tenant_b["eve"], service=tenant_b["service"], quantity=1, justification="work"
    )
    api = api_as(tenant_a["admin"])
    response = api.get(reverse("api:v1:request_list"))
    assert response.status_code == 200, response.content
    ids = [r["id"] for r in response.json()["results"]]
    assert ids == [mine.pk]
    other = api.get(reverse("api:v1:request_detail", args=[theirs.pk]))
    assert other.status_code == 404
    assert other["Content-Type"] == "application/problem+json"
    assert other.json()["status"] == 404


def test_end_user_creates_a_request_and_cancels_it(api_as, tenant_a):
    api = api_as(tenant_a["eve"])
    response = api.post(
        reverse("api:v1:request_list"),
        {"service": tenant_a["service"].pk, "quantity": 1, "justification": "new starter"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["service_id"] == tenant_a["service"].pk
    assert "cancelled" in body["actions"]
    cancelled = api.post(reverse("api:v1:request_cancel", args=[body["id"]]))
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"


def test_catalog_admin_grants_credits(api_as, catalog_admin, tenant_a):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=True, alert_threshold=None
    )
    api = api_as(catalog_admin)
    response = api.post(
        reverse("api:v1:credit_grant", args=[customer.pk]),
        {"amount": "250.00", "reason": "PO 1234"},
    )
    assert response.status_code == 201, response.content
    assert Decimal(response.json()["balance"]) == Decimal("250.00")
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal(5), reason="x")
    ledger = api.get(reverse("api:v1:credit_ledger", args=[customer.pk]))
    assert [e["amount"] for e in ledger.json()["results"]] == ["5.00", "250.00"]


def test_a_request_with_answers_for_a_colleague_is_approved_through_the_api(api_as, tenant_a):
    from catalog.models import ApprovalPolicy, QuestionKind
    from tests.catalog.factories import QuestionFactory

    service = tenant_a["service"]
    service.approval_policy = ApprovalPolicy.CUSTOMER_ADMIN
    service.save()
    city = QuestionFactory(
        service=service, label="City", kind=QuestionKind.SHORT_TEXT, required=True
    )
    eve, ed = tenant_a["eve"], tenant_a["ed"]
    api = api_as(eve)
    url = reverse("api:v1:request_list")
    missing = api.post(url, {"service": service.pk, "quantity": 1, "justification": "x"})
    assert missing.status_code == 400
    assert f"q_{city.pk}" in missing.json()["errors"]
    created = api.post(
        url,
        {
            "service": service.pk,
            "quantity": 1,
            "justification": "for Ed",
            "beneficiary": ed.pk,
            "answers": {str(city.pk): "Berlin"},
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["beneficiary_id"] == ed.pk and body["status"] == "awaiting_approval"
    assert body["answers"][0]["label"] == "City" and body["answers"][0]["display"] == "Berlin"
    admin = api_as(tenant_a["admin"])
    waiting = admin.get(reverse("api:v1:approval_list")).json()["results"]
    assert [step["request"]["id"] for step in waiting] == [body["id"]]
    decided = admin.post(
        reverse("api:v1:request_decide", args=[body["id"]]), {"decision": "approve", "note": "ok"}
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "approved"
    assert decided.json()["approval_steps"][0]["status"] == "approved"


def test_a_colleague_of_another_customer_is_refused(api_as, tenant_a, tenant_b):
    api = api_as(tenant_a["eve"])
    response = api.post(
        reverse("api:v1:request_list"),
        {
            "service": tenant_a["service"].pk,
            "quantity": 1,
            "justification": "x",
            "beneficiary": tenant_b["ed"].pk,
        },
    )
    assert response.status_code == 400
    assert "beneficiary" in response.json()["errors"]


def test_a_customer_administrator_builds_a_marketplace_through_the_api(api_as, tenant_a):
    customer, eve = tenant_a["customer"], tenant_a["eve"]
    api = api_as(tenant_a["admin"])
    created = api.post(
        reverse("api:v1:marketplace_list", args=[customer.pk]), {"name": "Finance tools"}
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    duplicate = api.post(
        reverse("api:v1:marketplace_list", args=[customer.pk]), {"name": "Finance tools"}
    )
    assert duplicate.status_code == 400
    offered = api.post(
        reverse("api:v1:marketplace_services", args=[customer.pk, pk]),
        {"services": [tenant_a["service"].pk]},
    )
    assert offered.status_code == 201, offered.content
    assert [s["service"] for s in offered.json()["services"]] == ["Laptop"]
    ruled = api.post(
        reverse("api:v1:marketplace_audience", args=[customer.pk, pk]),
        {"kind": "user", "user": eve.pk},
    )
    assert ruled.status_code == 201, ruled.content
    assert ruled.json()["audience"][0]["description"].startswith("Named user")
    bad = api.post(
        reverse("api:v1:marketplace_audience", args=[customer.pk, pk]), {"kind": "martians"}
    )
    assert bad.status_code == 400 and "kind" in bad.json()["errors"]
    # A kind or criteria of the wrong JSON type is refused the same way, never a 500.
    for body in ({"kind": ["user"]}, {"kind": "filter", "criteria": ["region"]}):
        wrong = api.post(reverse("api:v1:marketplace_audience", args=[customer.pk, pk]), body)
        assert wrong.status_code == 400, (body, wrong.content)
    explained = api.get(
        reverse("api:v1:explain", args=[customer.pk]),
        {"user": eve.pk, "service": tenant_a["service"].pk},
    )
    assert explained.status_code == 200 and explained.json()["visible"] is True
    assert explained.json()["steps"]


def test_a_catalog_administrator_adds_a_customer_and_switches_credits_on(
    api_as, catalog_admin, msp_enabled
):
    from tests.itsm_sync.factories import CompanyFactory, PersonFactory

    company = CompanyFactory(name="Globex")
    person = PersonFactory(company=company)
    api = api_as(catalog_admin)
    added = api.post(
        reverse("api:v1:customer_list"), {"company": company.pk, "administrators": [person.pk]}
    )
    assert added.status_code == 201, added.content
    pk = added.json()["id"]
    assert added.json()["name"] == "Globex"
    admins = api.get(reverse("api:v1:customer_administrators", args=[pk])).json()["results"]
    assert len(admins) == 1
    switched = api.post(
        reverse("api:v1:customer_settings", args=[pk]),
        {"credit_management": True, "alert_threshold": "50"},
    )
    assert switched.status_code == 200, switched.content
    assert switched.json()["credit_management"] is True
    again = api.post(
        reverse("api:v1:customer_list"), {"company": company.pk, "administrators": [person.pk]}
    )
    assert again.status_code == 400 and "company" in again.json()["errors"]


def test_answers_to_a_token_are_never_kept_by_a_cache(api_as, customer_admin):
    response = api_as(customer_admin).get(reverse("api:v1:request_list"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_catalog_administrators_narrow_requests_to_one_customer(
    api_as, catalog_admin, tenant_a, tenant_b
):
    from entitlements.services import request_submit

    a = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="x"
    )
    request_submit(
        actor=tenant_b["eve"], service=tenant_b["service"], quantity=1, justification="x"
    )
    api = api_as(catalog_admin)
    everyone = api.get(reverse("api:v1:request_list")).json()["results"]
    assert len(everyone) == 2
    only_a = api.get(reverse("api:v1:request_list"), {"customer": tenant_a["customer"].pk})
    assert [r["id"] for r in only_a.json()["results"]] == [a.pk]
    assert api.get(reverse("api:v1:request_list"), {"customer": "x"}).status_code == 400
