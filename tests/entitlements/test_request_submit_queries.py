"""A request submission costs a small, fixed number of queries whatever the catalog's size."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Service, ServiceStatus
from credits.models import CreditEntry
from credits.services import credit_grant
from customers.models import CustomerService
from entitlements.models import MarketplaceService, ServiceRequest

# Counted as in production: one real transaction per request, not a savepoint in the test's.
pytestmark = pytest.mark.django_db(transaction=True)

# Issue 13's target for a priced service with Credit Management on (the costliest path): the
# session and user, the MSP flag, access resolution, the request, the debit with its ledger row
# and balance, and the audit event; since issue 15 the service's questions (one read, however
# many), and the signal receivers of the apps above (fulfilment settings, webhook endpoints).
# Not the MSP flag: once a customer exists it is on for good, which the process knows by then.
SUBMIT_QUERIES = 15


def _priced(tenant, catalog_admin, extra_services: int):
    customer = tenant["customer"]
    customer.credit_management = True
    customer.save()
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal(100), reason="Opening")
    service = tenant["service"]
    service.price = Decimal("12.50")
    service.save()
    _offer_more(tenant, extra_services)
    return service


def _offer_more(tenant, count: int) -> None:
    """count more published services, assigned to the customer and offered to everyone."""
    start = Service.objects.count()
    services = Service.objects.bulk_create(
        Service(
            name=f"Extra {start + i}",
            description="Filler",
            category=tenant["service"].category,
            status=ServiceStatus.PUBLISHED,
            price=Decimal("1.00"),
        )
        for i in range(count)
    )
    assignments = CustomerService.objects.bulk_create(
        CustomerService(customer=tenant["customer"], service=s) for s in services
    )
    MarketplaceService.objects.bulk_create(
        MarketplaceService(marketplace=tenant["marketplace"], assignment=a) for a in assignments
    )


def _post(client, service, key: str):
    return client.post(
        reverse("portal:request_create", args=[service.pk]),
        {"quantity": 2, "justification": "New starter", "submission_key": key},
    )


@pytest.mark.parametrize("extra_services", [9, 1999])
def test_submitting_a_priced_request_is_bounded(client, tenant_a, catalog_admin, extra_services):
    service = _priced(tenant_a, catalog_admin, extra_services)
    client.force_login(tenant_a["eve"])
    # She opens the form first, as everyone does: the process has served a page since.
    client.get(reverse("portal:service_detail", args=[service.pk]))
    with CaptureQueriesContext(connection) as queries:
        response = _post(client, service, f"submission-key-{extra_services:06d}")
    assert response.status_code == 302
    assert ServiceRequest.objects.get().total == Decimal("25.00")
    assert CreditEntry.objects.filter(amount=Decimal("-25.00")).count() == 1
    assert len(queries) <= SUBMIT_QUERIES, "\n".join(q["sql"][:160] for q in queries)


def test_the_submission_costs_the_same_with_10_or_2000_services(client, tenant_a, catalog_admin):
    service = _priced(tenant_a, catalog_admin, 9)
    client.force_login(tenant_a["eve"])
    _post(client, service, "submission-key-warm-up")
    with CaptureQueriesContext(connection) as small:
        _post(client, service, "submission-key-small")
    _offer_more(tenant_a, 1990)
    with CaptureQueriesContext(connection) as large:
        _post(client, service, "submission-key-large")
    assert ServiceRequest.objects.count() == 3
    assert len(large) == len(small)


# --- Questions (issue 15): a form of 20 questions costs what a form of none does ---------------


def _ask_twenty(tenant) -> dict[str, object]:
    """20 questions of every kind but colleague (one condition among them), and their answers."""
    from catalog.models import Question, QuestionKind

    service = tenant["service"]
    kinds = [
        (QuestionKind.SHORT_TEXT, [], "Desk 4"),
        (QuestionKind.LONG_TEXT, [], "Long\ntext"),
        (QuestionKind.NUMBER, [], "3"),
        (QuestionKind.DATE, [], "2026-03-02"),
        (QuestionKind.SINGLE_CHOICE, ["A", "B"], "B"),
        (QuestionKind.MULTIPLE_CHOICE, ["A", "B", "C"], ["A", "C"]),
        (QuestionKind.YES_NO, [], "yes"),
    ]
    questions = Question.objects.bulk_create(
        Question(
            service=service,
            position=i + 1,
            kind=kinds[i % len(kinds)][0],
            label=f"Question {i + 1}",
            choices=kinds[i % len(kinds)][1],
            required=True,
        )
        for i in range(20)
    )
    # The last one is shown only when the first yes/no question is "yes".
    last = questions[-1]
    last.condition_question = questions[6]
    last.condition_operator, last.condition_value = "is", "yes"
    last.save()
    return {f"q_{q.pk}": kinds[i % len(kinds)][2] for i, q in enumerate(questions)}


def _count(client, method: str, url: str, data: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, data)
    assert response.status_code in (200, 302), response.content[:500]
    return len(queries)


def test_a_form_of_20_questions_renders_with_the_queries_of_none(client, tenant_a):
    client.force_login(tenant_a["eve"])
    url = reverse("portal:service_detail", args=[tenant_a["service"].pk])
    client.get(url)  # warm-up: the session's first page
    none = _count(client, "get", url, {})
    _ask_twenty(tenant_a)
    twenty = _count(client, "get", url, {})
    assert twenty == none
    assert "Question 20" in client.get(url).content.decode()


def test_a_form_of_20_questions_submits_with_one_query_more_than_none(
    client, tenant_a, catalog_admin
):
    service = _priced(tenant_a, catalog_admin, 0)
    client.force_login(tenant_a["eve"])
    url = reverse("portal:request_create", args=[service.pk])
    base = {"quantity": 2, "justification": "New starter"}
    _post(client, service, "submission-key-warm-up")
    none = _count(client, "post", url, {**base, "submission_key": "submission-key-none"})
    answers = _ask_twenty(tenant_a)
    twenty = _count(client, "post", url, {**base, **answers, "submission_key": "submission-key-20"})
    # The one more is the single INSERT of all 20 answers; reading the questions costs both one.
    assert twenty == none + 1
    assert twenty <= SUBMIT_QUERIES + 1
    assert ServiceRequest.objects.order_by("-id").first().answers.count() == 20
