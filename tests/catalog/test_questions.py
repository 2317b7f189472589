"""A service's questions (R1): their definitions, the answers they accept, and the use cases
that change them, on the real database."""

from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import services
from catalog.models import ConditionOperator, Question, QuestionKind
from catalog.questions import answers_clean, question_problems, shown_questions
from msp_portal.errors import NotAllowed
from msp_portal.models import AuditEvent
from tests.catalog.factories import QuestionFactory, model_and_gpu_questions

pytestmark = pytest.mark.django_db


def _add(actor, service, **values) -> Question:
    values = {"kind": QuestionKind.SHORT_TEXT, "label": "Anything else?", **values}
    return services.question_add(actor=actor, service=service, **values)


@pytest.fixture
def form(catalog_admin, service):
    """A form with every kind: the conditional question is shown when "Model" is "Pro"."""
    model, gpu = model_and_gpu_questions(actor=catalog_admin, service=service)
    return {
        "model": model,
        "gpu": gpu,
        "screens": _add(
            catalog_admin,
            service,
            kind=QuestionKind.NUMBER,
            label="Screens",
            min_value=Decimal(0),
            max_value=Decimal(3),
        ),
        "start": _add(catalog_admin, service, kind=QuestionKind.DATE, label="Start date"),
        "apps": _add(
            catalog_admin,
            service,
            kind=QuestionKind.MULTIPLE_CHOICE,
            label="Apps",
            choices=["Office", "Slack", "Figma"],
        ),
        "notes": _add(catalog_admin, service, kind=QuestionKind.LONG_TEXT, label="Notes"),
        "buddy": _add(catalog_admin, service, kind=QuestionKind.COLLEAGUE, label="Buddy"),
    }


def _questions(service) -> list[Question]:
    return list(service.questions.order_by("position", "id"))


def _errors(error: ValidationError) -> dict:
    return {key: " ".join(messages) for key, messages in error.message_dict.items()}


class TestDefinitions:
    def test_a_choice_question_needs_two_choices(self, catalog_admin, service):
        with pytest.raises(ValidationError) as error:
            _add(catalog_admin, service, kind=QuestionKind.SINGLE_CHOICE, label="Colour")
        assert "at least two choices" in _errors(error.value)["choices"]
        assert not Question.objects.exists()

    def test_choices_on_a_text_question_are_refused(self, catalog_admin, service):
        with pytest.raises(ValidationError) as error:
            _add(catalog_admin, service, choices=["a", "b"])
        assert "Only single and multiple choice" in _errors(error.value)["choices"]

    def test_the_smallest_number_may_not_exceed_the_largest(self, catalog_admin, service):
        with pytest.raises(ValidationError) as error:
            _add(
                catalog_admin,
                service,
                kind=QuestionKind.NUMBER,
                min_value=Decimal(5),
                max_value=Decimal(2),
            )
        assert "below the smallest" in _errors(error.value)["max_value"]

    def test_bounds_on_a_text_question_are_refused(self, catalog_admin, service):
        with pytest.raises(ValidationError) as error:
            _add(catalog_admin, service, min_value=Decimal(1))
        assert "Only number questions" in _errors(error.value)["min_value"]

    def test_a_condition_must_name_an_earlier_question_of_the_same_service(
        self, catalog_admin, service
    ):
        elsewhere = QuestionFactory(kind=QuestionKind.YES_NO)
        with pytest.raises(ValidationError) as error:
            _add(
                catalog_admin,
                service,
                condition_question=elsewhere,
                condition_operator="is",
                condition_value="yes",
            )
        assert "comes before this one" in _errors(error.value)["condition_question"]

    def test_a_condition_must_test_a_value_the_question_can_take(self, catalog_admin, form):
        with pytest.raises(ValidationError) as error:
            _add(
                catalog_admin,
                form["model"].service,
                condition_question=form["model"],
                condition_operator="is",
                condition_value="Ultra",
            )
        message = _errors(error.value)["condition_value"]
        assert "can't be “Ultra”" in message and "“Pro”" in message

    def test_a_condition_on_a_text_question_is_refused(self, catalog_admin, form):
        with pytest.raises(ValidationError) as error:
            _add(
                catalog_admin,
                form["model"].service,
                condition_question=form["notes"],
                condition_operator="is",
                condition_value="x",
            )
        assert "choice or yes/no" in _errors(error.value)["condition_question"]

    def test_a_blank_label_is_refused(self, catalog_admin, service):
        with pytest.raises(ValidationError) as error:
            _add(catalog_admin, service, label="   ")
        assert "Write the question" in str(error.value)

    def test_the_rule_alone_reads_no_database(self, django_assert_num_queries, form):
        question = Question(kind=QuestionKind.SINGLE_CHOICE, label="X", choices=["a"])
        with django_assert_num_queries(0):
            assert "choices" in question_problems(question, [])


class TestChanges:
    def test_adding_appends_and_audits(self, catalog_admin, form):
        assert [q.label for q in _questions(form["model"].service)][:2] == [
            "Model",
            "Needs a GPU?",
        ]
        event = AuditEvent.objects.filter(action="service.question_add").order_by("id").first()
        assert event.actor == catalog_admin
        assert event.after["question"]["label"] == "Model"

    def test_only_catalog_administrators_change_questions(self, customer_admin, service):
        with pytest.raises(NotAllowed):
            _add(customer_admin, service)

    def test_a_question_moves_up_and_down(self, catalog_admin, form):
        services.question_move(actor=catalog_admin, question=form["start"], direction="up")
        labels = [q.label for q in _questions(form["model"].service)]
        assert labels[2:4] == ["Start date", "Screens"]

    def test_a_question_cannot_move_above_the_one_it_depends_on(self, catalog_admin, form):
        with pytest.raises(ValidationError) as error:
            services.question_move(actor=catalog_admin, question=form["gpu"], direction="up")
        assert "must come after it" in str(error.value)
        assert [q.label for q in _questions(form["model"].service)][:2] == [
            "Model",
            "Needs a GPU?",
        ]

    def test_the_first_question_cannot_move_up(self, catalog_admin, form):
        with pytest.raises(ValidationError, match="already the first"):
            services.question_move(actor=catalog_admin, question=form["model"], direction="up")

    def test_a_question_others_depend_on_cannot_be_deleted(self, catalog_admin, form):
        with pytest.raises(ValidationError) as error:
            services.question_delete(actor=catalog_admin, question=form["model"])
        assert "“Needs a GPU?”" in str(error.value)
        assert Question.objects.filter(pk=form["model"].pk).exists()

    def test_removing_the_choice_a_condition_tests_is_refused(self, catalog_admin, form):
        with pytest.raises(ValidationError) as error:
            services.question_update(
                actor=catalog_admin,
                question=form["model"],
                kind=QuestionKind.SINGLE_CHOICE,
                label="Model",
                choices=["Standard", "Max"],
            )
        assert "change or clear that condition first" in str(error.value)
        form["model"].refresh_from_db()
        assert form["model"].choices == ["Standard", "Pro"]

    def test_an_update_records_what_changed(self, catalog_admin, form):
        services.question_update(
            actor=catalog_admin,
            question=form["notes"],
            kind=QuestionKind.LONG_TEXT,
            label="Notes for the desk",
            required=True,
        )
        event = AuditEvent.objects.get(action="service.question_update")
        assert event.before == {"question": form["notes"].pk, "label": "Notes", "required": False}
        assert event.after["label"] == "Notes for the desk"


class TestAnswers:
    def _clean(self, service, data, colleagues=None):
        return answers_clean(questions=_questions(service), data=data, colleagues=colleagues)

    def test_answers_are_kept_in_order_with_label_kind_value_and_text(self, form):
        f = form
        answers = self._clean(
            f["model"].service,
            {
                f["model"].pk: "Pro",
                f"q_{f['gpu'].pk}": "yes",
                str(f["screens"].pk): "2",
                f["start"].pk: "2026-03-02",
                f["apps"].pk: ["Slack", "Office"],
                f["notes"].pk: "  Desk 4  ",
                f["buddy"].pk: "7",
            },
            colleagues={7: "Ed Stone (acme-ed)"},
        )
        assert [(a.label, a.value, a.display) for a in answers] == [
            ("Model", "Pro", "Pro"),
            ("Needs a GPU?", True, "Yes"),
            ("Screens", 2, "2"),
            ("Start date", "2026-03-02", "2 Mar 2026"),
            ("Apps", ["Office", "Slack"], "Office, Slack"),
            ("Notes", "Desk 4", "Desk 4"),
            ("Buddy", 7, "Ed Stone (acme-ed)"),
        ]
        assert [a.position for a in answers] == list(range(1, 8))

    def test_the_json_api_may_send_native_values(self, form):
        answers = self._clean(
            form["model"].service,
            {
                form["model"].pk: "Pro",
                form["gpu"].pk: False,
                form["screens"].pk: 1.5,
                form["apps"].pk: ["Figma"],
            },
        )
        assert [a.value for a in answers] == ["Pro", False, 1.5, ["Figma"]]

    def test_a_hidden_question_is_skipped_and_its_answer_ignored(self, form):
        answers = self._clean(
            form["model"].service, {form["model"].pk: "Standard", form["gpu"].pk: "banana"}
        )
        assert [a.label for a in answers] == ["Model"]

    def test_a_shown_required_question_must_be_answered(self, form):
        with pytest.raises(ValidationError) as error:
            self._clean(form["model"].service, {form["model"].pk: "Pro"})
        assert "Answer “Needs a GPU?”" in _errors(error.value)[f"q_{form['gpu'].pk}"]

    def test_a_missing_required_answer_is_refused(self, form):
        with pytest.raises(ValidationError) as error:
            self._clean(form["model"].service, {})
        assert list(_errors(error.value)) == [f"q_{form['model'].pk}"]

    @pytest.mark.parametrize(
        "key, value, message",
        [
            ("model", "Ultra", "Choose one of the answers offered"),
            ("screens", "many", "with a number"),
            ("screens", "4", "3 or less"),
            ("screens", "-1", "0 or more"),
            ("screens", "1.005", "2 decimal places"),
            ("screens", "1e400", "below a trillion"),
            ("start", "31/12/2026", "with a date"),
            ("start", "1066-10-14", "between 1900 and 2200"),
            ("apps", ["Office", "Photoshop"], "Choose among the answers"),
            ("notes", "x" * 4001, "at most 4,000 characters"),
            ("notes", 12, "with text"),
            ("buddy", "99", "pick a colleague of your own company"),
            ("buddy", "Ed", "pick a colleague of your own company"),
        ],
    )
    def test_an_answer_of_the_wrong_kind_says_what_to_enter(self, form, key, value, message):
        data = {form["model"].pk: "Standard", form[key].pk: value}
        with pytest.raises(ValidationError) as error:
            self._clean(form["model"].service, data, colleagues={7: "Ed"})
        assert message in _errors(error.value)[f"q_{form[key].pk}"]

    def test_a_yes_no_answer_must_be_yes_or_no(self, form):
        with pytest.raises(ValidationError) as error:
            self._clean(form["model"].service, {form["model"].pk: "Pro", form["gpu"].pk: "maybe"})
        assert "with yes or no" in _errors(error.value)[f"q_{form['gpu'].pk}"]

    def test_answers_to_questions_the_service_does_not_ask_are_refused(self, form):
        other = QuestionFactory()
        with pytest.raises(ValidationError) as error:
            self._clean(form["model"].service, {form["model"].pk: "Standard", other.pk: "x"})
        assert "doesn't ask question" in _errors(error.value)[NON_FIELD_ERRORS]

    def test_a_service_without_questions_takes_no_answers(self, service):
        assert answers_clean(questions=[], data=None) == []
        with pytest.raises(ValidationError):
            answers_clean(questions=[], data={"q_1": "x"})

    def test_is_not_shows_a_question_until_the_value_is_chosen(self, catalog_admin, form):
        service = form["model"].service
        extra = _add(
            catalog_admin,
            service,
            label="Why not Pro?",
            condition_question=form["model"],
            condition_operator=ConditionOperator.IS_NOT,
            condition_value="Pro",
        )
        questions = _questions(service)
        assert extra.pk in shown_questions(questions, {})
        assert extra.pk not in shown_questions(questions, {form["model"].pk: "Pro"})
        assert extra.pk in shown_questions(questions, {form["model"].pk: "Standard"})


ANY_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.sampled_from(["Pro", "Standard", "yes", "no", "2026-02-30", "1e999", "7", "\x00"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), ANY_VALUE))
def test_any_data_gives_answers_or_a_clear_refusal(data):
    """Whatever arrives (the JSON API takes any JSON): answers, or ValidationError; never a crash."""
    questions = [
        Question(
            pk=1,
            position=1,
            kind=QuestionKind.SINGLE_CHOICE,
            label="Model",
            choices=["Standard", "Pro"],
        ),
        Question(
            pk=2,
            position=2,
            kind=QuestionKind.YES_NO,
            label="GPU",
            condition_question_id=1,
            condition_operator="is",
            condition_value="Pro",
            required=True,
        ),
        Question(pk=3, position=3, kind=QuestionKind.NUMBER, label="Screens", min_value=Decimal(0)),
        Question(pk=4, position=4, kind=QuestionKind.DATE, label="Start"),
        Question(
            pk=5, position=5, kind=QuestionKind.MULTIPLE_CHOICE, label="Apps", choices=["A", "B"]
        ),
        Question(pk=6, position=6, kind=QuestionKind.COLLEAGUE, label="Buddy"),
        Question(pk=7, position=7, kind=QuestionKind.LONG_TEXT, label="Notes"),
    ]
    for keys in (data, {k: v for k, v in data.items() if str(k) in "1234567"}):
        try:
            answers = answers_clean(questions=questions, data=keys, colleagues={7: "Ed"})
        except ValidationError as error:
            assert all(m.strip() for m in error.messages)
        else:
            assert [a.position for a in answers] == list(range(1, len(answers) + 1))
