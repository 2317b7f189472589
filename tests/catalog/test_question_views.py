"""The questions editor in the service editor (htmx), its preview, and the approval fields."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog import services
from catalog.models import ApprovalPolicy, Question, QuestionKind
from tests.catalog.factories import QuestionFactory

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def _add_url(service) -> str:
    return reverse("catalog:question_add", args=[service.pk])


def _question(**values) -> dict:
    return {
        "add-label": "Model",
        "add-kind": "single_choice",
        "add-choices": "Standard\nPro",
        **values,
    }


class TestEditor:
    def test_a_catalog_administrator_adds_a_question_and_sees_it_previewed(
        self, admin_client, service
    ):
        response = admin_client.post(_add_url(service), _question(**{"add-required": "on"}), **HX)
        html = response.content.decode()
        assert response.status_code == 200
        assert 'id="questions"' in html and "<html" not in html
        assert "Question “Model” added" in html
        assert 'data-testid="question-preview"' in html and 'value="Pro"' in html
        question = Question.objects.get()
        assert (question.label, question.choices, question.required) == (
            "Model",
            ["Standard", "Pro"],
            True,
        )

    def test_without_scripts_it_goes_back_to_the_service_page(self, admin_client, service):
        response = admin_client.post(_add_url(service), _question())
        assert response.status_code == 302
        assert response.url == reverse("catalog:service_edit", args=[service.pk]) + "#questions"

    def test_a_bad_definition_says_what_to_fix_and_writes_nothing(self, admin_client, service):
        response = admin_client.post(_add_url(service), _question(**{"add-choices": "Only"}), **HX)
        assert "Give at least two choices" in response.content.decode()
        assert not Question.objects.exists()

    def test_a_condition_is_added_and_the_preview_follows_it(
        self, admin_client, service, catalog_admin
    ):
        model = services.question_add(
            actor=catalog_admin,
            service=service,
            kind=QuestionKind.SINGLE_CHOICE,
            label="Model",
            choices=["Standard", "Pro"],
        )
        response = admin_client.post(
            _add_url(service),
            _question(
                **{
                    "add-label": "Needs a GPU?",
                    "add-kind": "yes_no",
                    "add-choices": "",
                    "add-condition_question": model.pk,
                    "add-condition_operator": "is",
                    "add-condition_value": "Pro",
                }
            ),
            **HX,
        )
        assert "Shown when “Model” is “Pro”" in response.content.decode()
        preview = reverse("catalog:question_preview", args=[service.pk])
        hidden = admin_client.get(preview, {f"q_{model.pk}": "Standard"}, **HX).content.decode()
        shown = admin_client.get(preview, {f"q_{model.pk}": "Pro"}, **HX).content.decode()
        assert 'is-hidden" data-testid="question" data-label="Needs a GPU?"' in hidden
        assert 'is-hidden" data-testid="question" data-label="Needs a GPU?"' not in shown

    def test_questions_are_edited_moved_and_deleted(self, admin_client, service):
        first = QuestionFactory(service=service, label="First", position=1)
        second = QuestionFactory(service=service, label="Second", position=2)
        edit = reverse("catalog:question_edit", args=[service.pk, first.pk])
        assert 'data-testid="question-edit-form"' in admin_client.get(edit, **HX).content.decode()
        admin_client.post(edit, {"edit-label": "Primary", "edit-kind": "long_text"}, **HX)
        first.refresh_from_db()
        assert (first.label, first.kind) == ("Primary", "long_text")
        admin_client.post(
            reverse("catalog:question_move", args=[service.pk, second.pk]),
            {"direction": "up"},
            **HX,
        )
        assert [q.label for q in service.questions.order_by("position")] == ["Second", "Primary"]
        response = admin_client.post(
            reverse("catalog:question_delete", args=[service.pk, first.pk]), **HX
        )
        assert "Requests already made keep their answers" in response.content.decode()
        assert [q.label for q in service.questions.all()] == ["Second"]

    def test_a_question_of_another_service_is_404(self, admin_client, service):
        other = QuestionFactory()
        url = reverse("catalog:question_edit", args=[service.pk, other.pk])
        assert admin_client.get(url).status_code == 404
        url = reverse("catalog:question_delete", args=[service.pk, other.pk])
        assert admin_client.post(url).status_code == 404
        assert Question.objects.filter(pk=other.pk).exists()

    def test_a_customer_administrator_gets_403(self, client, customer_admin, service):
        client.force_login(customer_admin)
        assert client.post(_add_url(service), _question()).status_code == 403
        assert not Question.objects.exists()

    def test_the_service_page_shows_the_editor_and_preview(self, admin_client, service):
        QuestionFactory(service=service, label="Cost centre", required=True)
        html = admin_client.get(reverse("catalog:service_edit", args=[service.pk])).content.decode()
        assert 'data-testid="questions-card"' in html
        assert "Cost centre" in html and 'data-testid="question-preview"' in html


class TestApprovalFields:
    def _post(self, client, service, **values):
        data = {
            "name": service.name,
            "category": service.category_id,
            "description": "",
            "price": "10",
            "min_quantity": "",
            "max_quantity": "",
            **values,
        }
        return client.post(reverse("catalog:service_edit", args=[service.pk]), data)

    def test_above_an_amount_needs_the_amount(self, admin_client, service):
        response = self._post(admin_client, service, approval_policy="above_amount")
        assert "Say above which total" in response.content.decode()
        service.refresh_from_db()
        assert service.approval_policy == ApprovalPolicy.NONE

    def test_the_policy_and_threshold_are_saved(self, admin_client, service):
        self._post(admin_client, service, approval_policy="above_amount", approval_threshold="100")
        service.refresh_from_db()
        assert service.approval_policy == ApprovalPolicy.ABOVE_AMOUNT
        assert service.approval_threshold == Decimal("100")

    def test_another_policy_drops_the_threshold(self, admin_client, service):
        self._post(
            admin_client,
            service,
            approval_policy="customer_admin_then_msp",
            approval_threshold="100",
        )
        service.refresh_from_db()
        assert service.approval_policy == ApprovalPolicy.CUSTOMER_ADMIN_THEN_MSP
        assert service.approval_threshold is None


def test_the_service_history_names_each_question_change(admin_client, service, catalog_admin):
    question = services.question_add(
        actor=catalog_admin, service=service, kind=QuestionKind.SHORT_TEXT, label="Cost centre"
    )
    services.question_update(
        actor=catalog_admin, question=question, kind=QuestionKind.SHORT_TEXT, label="Budget code"
    )
    services.question_delete(actor=catalog_admin, question=question)
    html = admin_client.get(reverse("catalog:service_edit", args=[service.pk])).content.decode()
    assert "Question added: “Cost centre”" in html
    assert 'Question: <span class="text-secondary">Cost centre</span> → Budget code' in html
    assert "Question deleted: “Budget code”" in html


def test_the_service_page_says_each_message_once(admin_client, service):
    response = admin_client.post(_add_url(service), _question(), follow=True)
    assert response.content.decode().count("Question “Model” added at the end of the form") == 1
