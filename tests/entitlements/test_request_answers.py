"""Requests with answers and for a colleague (R1, R2): kept as asked, validated on the server,
seen by both people, never broken by later changes of the service's questions."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from catalog import services as catalog_services
from catalog.models import QuestionKind
from credits.models import CreditEntry
from credits.services import credit_grant
from customers.services import customer_services_add
from entitlements.models import AudienceKind, RequestAnswer, ServiceRequest
from entitlements.selectors import request_list_for_requester
from entitlements.services import (
    audience_rule_add,
    marketplace_create,
    marketplace_services_add,
    request_submit,
)
from tests.catalog.factories import ServiceFactory, model_and_gpu_questions

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked(tenant_a, catalog_admin):
    """Laptop asks: Model (required choice), "Needs a GPU?" only for Pro, and a buddy."""
    service = tenant_a["service"]

    model, gpu = model_and_gpu_questions(actor=catalog_admin, service=service)
    buddy = catalog_services.question_add(
        actor=catalog_admin, service=service, kind=QuestionKind.COLLEAGUE, label="Buddy"
    )
    return {"model": model, "gpu": gpu, "buddy": buddy}


def _submit(tenant, answers=None, **kwargs):
    return request_submit(
        actor=tenant["eve"],
        service=tenant["service"],
        quantity=1,
        justification="New starter",
        answers=answers,
        **kwargs,
    )


def _nothing_written():
    assert not ServiceRequest.objects.exists()
    assert not RequestAnswer.objects.exists()
    assert not CreditEntry.objects.filter(kind="debit").exists()


def _export(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


class TestSubmit:
    def test_answers_are_kept_as_asked(self, tenant_a, asked):
        request = _submit(
            tenant_a,
            {
                asked["model"].pk: "Pro",
                asked["gpu"].pk: "yes",
                asked["buddy"].pk: str(tenant_a["ed"].pk),
            },
        )
        rows = list(request.answers.order_by("position"))
        assert [(a.label, a.kind, a.value, a.display) for a in rows] == [
            ("Model", "single_choice", "Pro", "Pro"),
            ("Needs a GPU?", "yes_no", True, "Yes"),
            ("Buddy", "colleague", tenant_a["ed"].pk, "Ed Stone (acme-ed)"),
        ]
        assert rows[0].question_id == asked["model"].pk

    @pytest.mark.parametrize(
        "answers, where",
        [
            ({}, "model"),  # a missing required answer
            ({"model": "Ultra"}, "model"),  # not one of the choices
            ({"model": "Pro"}, "gpu"),  # the conditional question, shown and required
            ({"model": "Pro", "gpu": "perhaps"}, "gpu"),  # the wrong kind
        ],
    )
    def test_bad_answers_are_refused_and_nothing_is_written(
        self, tenant_a, asked, catalog_admin, answers, where
    ):
        tenant_a["customer"].credit_management = True
        tenant_a["customer"].save()
        credit_grant(
            actor=catalog_admin, customer=tenant_a["customer"], amount=Decimal(100), reason="x"
        )
        with pytest.raises(ValidationError) as error:
            _submit(tenant_a, {asked[k].pk: v for k, v in answers.items()})
        assert f"q_{asked[where].pk}" in error.value.message_dict
        _nothing_written()

    def test_answers_to_questions_the_service_does_not_ask_are_refused(self, tenant_a, asked):
        with pytest.raises(ValidationError, match="doesn't ask question"):
            _submit(tenant_a, {asked["model"].pk: "Standard", "999999": "x"})
        _nothing_written()

    def test_a_colleague_of_another_customer_is_refused(self, tenant_a, tenant_b, asked):
        with pytest.raises(ValidationError) as error:
            _submit(
                tenant_a,
                {asked["model"].pk: "Standard", asked["buddy"].pk: tenant_b["ed"].pk},
            )
        assert "colleague of your own company" in str(error.value)
        _nothing_written()

    def test_a_request_for_a_colleague_names_both(self, tenant_a):
        request = _submit(tenant_a, beneficiary=tenant_a["ed"])
        assert request.requester == tenant_a["eve"] and request.beneficiary == tenant_a["ed"]
        assert request.people_label == "Eve Finch for Ed Stone"
        for person in ("eve", "ed"):
            assert list(request_list_for_requester(user=tenant_a[person])) == [request]

    def test_a_beneficiary_of_another_customer_is_refused(self, tenant_a, tenant_b):
        with pytest.raises(ValidationError, match="active colleague of Acme Corp"):
            _submit(tenant_a, beneficiary=tenant_b["ed"])
        _nothing_written()

    def test_a_colleague_who_is_not_offered_the_service_is_refused(self, tenant_a, catalog_admin):
        secret = ServiceFactory(name="Secret project")
        customer = tenant_a["customer"]
        customer_services_add(actor=catalog_admin, customer=customer, services=[secret])
        admin = tenant_a["admin"]
        market = marketplace_create(actor=admin, customer=customer, name="Eve only")
        marketplace_services_add(actor=admin, marketplace=market, services=[secret])
        audience_rule_add(
            actor=admin, marketplace=market, kind=AudienceKind.USER, user=tenant_a["eve"]
        )
        with pytest.raises(ValidationError, match="isn't offered to them"):
            request_submit(
                actor=tenant_a["eve"],
                service=secret,
                quantity=1,
                justification="x",
                beneficiary=tenant_a["ed"],
            )
        _nothing_written()

    def test_changing_or_deleting_questions_never_breaks_open_requests(
        self, client, tenant_a, asked, catalog_admin
    ):
        request = _submit(tenant_a, {asked["model"].pk: "Pro", asked["gpu"].pk: "no"})
        catalog_services.question_delete(actor=catalog_admin, question=asked["gpu"])
        catalog_services.question_update(
            actor=catalog_admin,
            question=asked["model"],
            kind=QuestionKind.SINGLE_CHOICE,
            label="Which model?",
            choices=["Air", "Max"],
        )
        catalog_services.question_delete(actor=catalog_admin, question=asked["model"])
        client.force_login(tenant_a["eve"])
        page = client.get(reverse("portal:request_detail", args=[request.pk])).content.decode()
        assert "Model" in page and "Needs a GPU?" in page and "Which model?" not in page
        client.force_login(tenant_a["admin"])
        rows = _export(client.get(reverse("portal:request_export")))
        assert rows[1][rows[0].index("Answers")] == "Model: Pro\nNeeds a GPU?: No"
        # The request still moves on.
        from entitlements.services import request_transition

        request_transition(actor=tenant_a["admin"], request=request, status="in_progress")


class TestPages:
    def test_the_service_page_asks_the_questions_and_shows_conditions(
        self, client, tenant_a, asked
    ):
        client.force_login(tenant_a["eve"])
        page = client.get(reverse("portal:service_detail", args=[tenant_a["service"].pk]))
        html = page.content.decode()
        assert "Model" in html and "Buddy" in html
        # Without scripts every question shows, its condition in words.
        assert "Shown when “Model” is “Pro”" in html

    def test_htmx_draws_the_questions_for_the_answers_so_far(self, client, tenant_a, asked):
        client.force_login(tenant_a["eve"])
        url = reverse("portal:request_questions", args=[tenant_a["service"].pk])
        hidden = client.get(url, {f"q_{asked['model'].pk}": "Standard"}, HTTP_HX_REQUEST="true")
        shown = client.get(url, {f"q_{asked['model'].pk}": "Pro"}, HTTP_HX_REQUEST="true")
        marker = 'question question-conditional is-hidden" data-testid="question" data-label="Needs a GPU?"'
        assert marker in hidden.content.decode()
        assert 'data-label="Needs a GPU?"' in shown.content.decode()
        assert marker not in shown.content.decode()

    def test_a_bad_answer_is_shown_by_its_question_and_nothing_is_written(
        self, client, tenant_a, asked
    ):
        client.force_login(tenant_a["eve"])
        response = client.post(
            reverse("portal:request_create", args=[tenant_a["service"].pk]),
            {
                "quantity": 1,
                "justification": "New starter",
                f"q_{asked['model'].pk}": "Pro",
                f"q_{asked['gpu'].pk}": "",
                "submission_key": "k" * 20,
            },
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "Answer “Needs a GPU?”: this service needs it to go ahead." in html
        assert "Some answers need your attention" in html
        assert 'value="Pro" checked' in html  # what was entered stays
        _nothing_written()

    def test_a_request_for_a_colleague_through_the_form(self, client, tenant_a, asked):
        client.force_login(tenant_a["eve"])
        response = client.post(
            reverse("portal:request_create", args=[tenant_a["service"].pk]),
            {
                "quantity": 1,
                "justification": "New starter",
                "beneficiary": tenant_a["ed"].pk,
                f"q_{asked['model'].pk}": "Standard",
                f"q_{asked['gpu'].pk}": "yes",  # hidden: ignored
                "submission_key": "k" * 20,
            },
        )
        assert response.status_code == 302
        request = ServiceRequest.objects.get()
        assert request.beneficiary == tenant_a["ed"]
        assert [a.label for a in request.answers.all()] == ["Model"]
        client.force_login(tenant_a["ed"])
        page = client.get(reverse("portal:request_detail", args=[request.pk])).content.decode()
        assert "Ed Stone" in page and "Eve Finch" in page and "Standard" in page
        mine = client.get(reverse("portal:my_requests")).content.decode()
        assert "Requested for you by Eve Finch" in mine
        # The colleague sees it but does not cancel it: that is the requester's.
        assert f'action="{reverse("portal:request_cancel", args=[request.pk])}"' not in mine

    def test_a_colleague_of_another_customer_is_a_form_error(self, client, tenant_a, tenant_b):
        client.force_login(tenant_a["eve"])
        response = client.post(
            reverse("portal:request_create", args=[tenant_a["service"].pk]),
            {"quantity": 1, "justification": "x", "beneficiary": tenant_b["ed"].pk},
        )
        assert response.status_code == 200
        assert "only active people of your own company" in response.content.decode()
        assert not ServiceRequest.objects.exists()

    def test_the_colleague_search_finds_only_the_requesters_own_people(
        self, client, tenant_a, tenant_b
    ):
        client.force_login(tenant_a["eve"])
        url = reverse("portal:colleague_options")
        html = client.get(url, {"colleague_q": "Ed", "name": "beneficiary"}).content.decode()
        assert "acme-ed" in html and "bright-ed" not in html
        everyone = client.get(url, {"colleague_q": "", "name": "q_5"}).content.decode()
        assert "bright-" not in everyone and "acme-eve" not in everyone
        assert 'name="q_5"' in everyone
        # A crafted "chosen" of another customer is not drawn.
        crafted = client.get(url, {"name": "beneficiary", "beneficiary": tenant_b["ed"].pk})
        assert "bright-ed" not in crafted.content.decode()

    def test_an_outsider_cannot_open_a_colleagues_request(self, client, tenant_a, tenant_b):
        request = _submit(tenant_a, beneficiary=tenant_a["ed"])
        client.force_login(tenant_b["ed"])
        assert client.get(reverse("portal:request_detail", args=[request.pk])).status_code == 404
