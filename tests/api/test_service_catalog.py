"""The service catalog through the API (A1: what a catalog administrator does on the catalog pages):
add a service as a draft, change it, publish and retire it, list the categories; the pages'
form rules and messages, and their audit events."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import ApprovalPolicy, Service, ServiceStatus
from msp_portal.models import AuditEvent
from tests.catalog.factories import CategoryFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hardware():
    return CategoryFactory(name="Hardware")


def _body(category, **changes) -> dict:
    return {
        "name": "Docking station",
        "category": category.pk,
        "description": "USB-C dock with two screens.",
        "price": "35.00",
        "max_quantity": 2,
        **changes,
    }


def test_a_catalog_administrator_adds_a_service_as_a_draft(api_as, catalog_admin, hardware):
    api = api_as(catalog_admin)
    response = api.post(reverse("api:v1:service_list"), _body(hardware))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["status"], body["price"], body["category"]) == (
        "Docking station",
        "draft",
        "35.00",
        "Hardware",
    )
    assert body["approval_policy"] == ApprovalPolicy.NONE and body["max_quantity"] == 2
    service = Service.objects.get(pk=body["id"])
    assert AuditEvent.objects.filter(
        action="service.create", object_id=str(service.pk), actor=catalog_admin
    ).exists()
    assert api.get(reverse("api:v1:service_detail", args=[service.pk])).json() == body


def test_bad_input_gets_the_pages_messages_and_writes_nothing(api_as, catalog_admin, hardware):
    api = api_as(catalog_admin)
    ServiceFactory(name="Docking station", category=hardware)
    response = api.post(
        reverse("api:v1:service_list"),
        _body(hardware, name="Docking station", approval_policy="above_amount"),
    )
    assert response.status_code == 400
    assert response.json()["errors"]["approval_threshold"] == [
        "Say above which total (in credits) a request needs approval, or choose another "
        "approval policy."
    ]
    response = api.post(reverse("api:v1:service_list"), _body(hardware, name="Dock", price="-1"))
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["price"]
    response = api.post(reverse("api:v1:service_list"), _body(hardware))
    assert response.status_code == 400
    assert "A service named “Docking station” already exists" in response.json()["detail"]
    assert Service.objects.count() == 1


def test_a_change_keeps_the_approval_policy_when_left_out(api_as, catalog_admin, hardware):
    service = ServiceFactory(
        name="Laptop",
        category=hardware,
        approval_policy=ApprovalPolicy.ABOVE_AMOUNT,
        approval_threshold=Decimal("100"),
    )
    api = api_as(catalog_admin)
    url = reverse("api:v1:service_detail", args=[service.pk])
    response = api.post(url, _body(hardware, name="Laptop", price="900"))
    assert response.status_code == 200, response.content
    assert response.json()["price"] == "900.00"
    assert (response.json()["approval_policy"], response.json()["approval_threshold"]) == (
        "above_amount",
        "100.00",
    )
    event = AuditEvent.objects.get(action="service.update", object_id=str(service.pk))
    assert event.after["price"] == "900.00"
    response = api.post(url, _body(hardware, name="Laptop", price="900", approval_policy="none"))
    assert response.json()["approval_policy"] == "none"
    assert response.json()["approval_threshold"] is None


def test_publish_and_retire_as_on_the_page(api_as, catalog_admin, hardware):
    service = ServiceFactory(category=hardware, status=ServiceStatus.DRAFT)
    api = api_as(catalog_admin)
    retire = reverse("api:v1:service_retire", args=[service.pk])
    refused = api.post(retire)
    assert refused.status_code == 400
    assert "is a draft and was never offered" in refused.json()["detail"]
    published = api.post(reverse("api:v1:service_publish", args=[service.pk]))
    assert published.json()["status"] == "published"
    assert api.post(retire).json()["status"] == "retired"


def test_categories_are_listed_for_filing_services(api_as, catalog_admin, hardware):
    CategoryFactory(name="Access")
    names = [
        c["name"]
        for c in api_as(catalog_admin).get(reverse("api:v1:category_list")).json()["results"]
    ]
    assert names == ["Access", "Hardware"]


def test_a_customer_administrator_may_not_edit_the_catalog(api_as, customer_admin, hardware):
    service = ServiceFactory(category=hardware)
    api = api_as(customer_admin)
    assert api.post(reverse("api:v1:service_list"), _body(hardware)).status_code == 403
    response = api.post(reverse("api:v1:service_detail", args=[service.pk]), _body(hardware))
    assert response.status_code == 403
    assert "for catalog administrators" in response.json()["detail"]
    assert Service.objects.get(pk=service.pk).name == service.name


def test_a_services_questions_are_defined_through_the_api(api_as, catalog_admin, hardware):
    service = ServiceFactory(name="Laptop", category=hardware)
    api = api_as(catalog_admin)
    url = reverse("api:v1:service_questions", args=[service.pk])
    response = api.post(url, {"label": "Model", "kind": "single_choice", "choices": ["Air", "Pro"]})
    assert response.status_code == 201, response.content
    [model] = response.json()
    assert (model["label"], model["choices"], model["position"]) == ("Model", ["Air", "Pro"], 1)

    gpu = api.post(
        url,
        {
            "label": "Needs a GPU?",
            "kind": "yes_no",
            "condition_question": model["id"],
            "condition_value": "Pro",
        },
    ).json()[1]
    assert (gpu["condition_question_id"], gpu["condition_operator"]) == (model["id"], "is")

    # A definition that can't work is refused with what to fix, and nothing is written.
    refused = api.post(url, {"label": "Size", "kind": "single_choice", "choices": ["Only one"]})
    assert refused.status_code == 400
    assert len(api.get(url).json()) == 2

    # The question another depends on can't go first behind it, nor be deleted.
    move = reverse("api:v1:service_question_move", args=[service.pk, gpu["id"]])
    assert api.post(move, {"direction": "up"}).status_code == 400
    question = reverse("api:v1:service_question", args=[service.pk, model["id"]])
    response = api.delete(question)
    assert response.status_code == 400
    assert "shown only depending on its answer" in response.json()["detail"]

    changed = api.post(
        question, {"label": "Which model?", "kind": "single_choice", "choices": ["Air", "Pro"]}
    )
    assert changed.status_code == 200 and changed.json()[0]["label"] == "Which model?"
    assert (
        api.delete(reverse("api:v1:service_question", args=[service.pk, gpu["id"]])).status_code
        == 204
    )
    assert [q["label"] for q in api.get(url).json()] == ["Which model?"]
    assert (
        AuditEvent.objects.filter(action="service.question_add", object_id=str(service.pk)).count()
        == 2
    )


def test_a_services_questions_cost_the_same_queries_however_many(
    api_as, catalog_admin, hardware, django_assert_max_num_queries
):
    from catalog.models import Question

    service = ServiceFactory(category=hardware)
    api = api_as(catalog_admin)
    url = reverse("api:v1:service_questions", args=[service.pk])
    counts = []
    for total in (1, 12):
        Question.objects.bulk_create(
            Question(service=service, position=p, kind="short_text", label=f"Q{p}")
            for p in range(2 if counts else 1, total + 1)
        )
        api.get(url)  # warm: the token's last use is written at most once a minute
        with django_assert_max_num_queries(6) as captured:
            assert len(api.get(url).json()) == total
        counts.append(len(captured))
    assert counts[0] == counts[1]
