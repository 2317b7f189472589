"""Use-case forms of the catalog; cleaned_data keys are the service and selector arguments."""

from crispy_forms.bootstrap import AppendedText
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms

from msp_portal.forms import PortalForm

from .models import (
    CHOICE_KINDS,
    ApprovalPolicy,
    ConditionOperator,
    Question,
    QuestionKind,
    ServiceStatus,
)
from .questions import CHOICE_MAX, CHOICES_MAX, choices_parse, condition_values
from .selectors import category_list

CATEGORY_ERRORS = {
    "required": "Choose the category this service is listed under.",
    "invalid_choice": "That category no longer exists: choose one from the list.",
}


class ServiceFilterForm(PortalForm):
    query = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "class": "form-control",
                "placeholder": "Search by name or description",
                "autocomplete": "off",
                "autofocus": True,
            }
        ),
    )
    category = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="All categories",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    status = forms.ChoiceField(
        choices=[("", "All statuses"), *ServiceStatus.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = category_list(user=user)

    def filters(self) -> dict:
        """The valid, non-empty filters; a stale or crafted value is ignored, not an error."""
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}


class ServiceForm(PortalForm):
    name = forms.CharField(
        max_length=200,
        error_messages={"required": "Give the service a name customers will recognise."},
    )
    category = forms.ModelChoiceField(
        queryset=None, empty_label="Choose a category", error_messages=CATEGORY_ERRORS
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="What the customer gets, and anything they need to know before requesting it.",
    )
    price = forms.DecimalField(
        label="Price",
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
        help_text="Per unit requested; 0 makes it free.",
        error_messages={
            "required": "Enter a price in credits; enter 0 for a free service.",
            "invalid": "Enter the price as a number of credits, such as 12.50.",
            "max_decimal_places": "Enter the price with at most 2 decimal places, such as 12.50.",
            "max_digits": "Enter a price below 10,000,000,000 credits.",
            "max_whole_digits": "Enter a price below 10,000,000,000 credits.",
        },
    )
    min_quantity = forms.IntegerField(
        label="Minimum quantity",
        required=False,
        widget=forms.NumberInput(attrs={"min": "1", "placeholder": "No minimum"}),
        help_text="Per request; leave empty for none.",
        error_messages={"invalid": "Enter a whole number, or leave it empty for no minimum."},
    )
    max_quantity = forms.IntegerField(
        label="Maximum quantity",
        required=False,
        widget=forms.NumberInput(attrs={"min": "1", "placeholder": "No limit"}),
        help_text="Per request; leave empty for no limit.",
        error_messages={"invalid": "Enter a whole number, or leave it empty for no limit."},
    )
    approval_policy = forms.ChoiceField(
        label="Approval",
        choices=ApprovalPolicy.choices,
        initial=ApprovalPolicy.NONE,
        required=False,
        help_text="Who must approve a request before it is fulfilled.",
        error_messages={
            "required": "Choose who must approve a request, or “No approval”.",
            "invalid_choice": "Choose one of the approval policies in the list.",
        },
    )
    approval_threshold = forms.DecimalField(
        label="Approval above",
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
        help_text="With “when the total is above an amount”: the total (price × quantity) above "
        "which a request needs approval.",
        error_messages={
            "invalid": "Enter the amount as a number of credits, such as 100.",
            "min_value": "Enter an amount of 0 credits or more.",
            "max_decimal_places": "Enter the amount with at most 2 decimal places.",
            "max_digits": "Enter an amount below 1,000,000,000,000 credits.",
            "max_whole_digits": "Enter an amount below 1,000,000,000,000 credits.",
        },
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = category_list(user=user)
        self.helper.layout = Layout(
            Row(Column("name", css_class="col-md-7"), Column("category", css_class="col-md-5")),
            Field("description"),
            Row(
                Column(AppendedText("price", "credits"), css_class="col-md-4"),
                Column("min_quantity", css_class="col-md-4"),
                Column("max_quantity", css_class="col-md-4"),
            ),
            Row(
                Column("approval_policy", css_class="col-md-8"),
                Column(AppendedText("approval_threshold", "credits"), css_class="col-md-4"),
            ),
        )

    def clean(self) -> dict:
        data = super().clean()
        # Left out (an older client): no approval, as a new service starts.
        policy = data["approval_policy"] = data.get("approval_policy") or ApprovalPolicy.NONE
        if policy == ApprovalPolicy.ABOVE_AMOUNT and data.get("approval_threshold") is None:
            if "approval_threshold" not in self.errors:
                self.add_error(
                    "approval_threshold",
                    "Say above which total (in credits) a request needs approval, or choose "
                    "another approval policy.",
                )
        elif policy and policy != ApprovalPolicy.ABOVE_AMOUNT:
            data["approval_threshold"] = None
        return data


class CategoryForm(PortalForm):
    name = forms.CharField(max_length=120, error_messages={"required": "Give the category a name."})
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Optional: what kind of services belong here.",
    )


class QuestionForm(PortalForm):
    """One question of a service's form; cleaned_data keys are question_add's arguments.

    The condition's question is narrowed to the questions before this one (before=…); the value
    it tests is typed or picked and checked by catalog.questions, which says what is possible.
    """

    label = forms.CharField(
        label="Question",
        max_length=200,
        error_messages={"required": "Write the question as the requester will read it."},
    )
    kind = forms.ChoiceField(
        label="Answer",
        choices=QuestionKind.choices,
        error_messages={
            "required": "Choose what kind of answer the question takes.",
            "invalid_choice": "Choose one of the kinds of answer in the list.",
        },
    )
    required = forms.BooleanField(label="Required", required=False)
    help_text = forms.CharField(
        label="Help text",
        max_length=300,
        required=False,
        help_text="Optional: shown under the question.",
    )
    choices = forms.CharField(
        label="Choices",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=CHOICES_MAX * (CHOICE_MAX + 2),
        help_text="For single and multiple choice: one choice per line.",
    )
    min_value = forms.DecimalField(
        label="Smallest number",
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text="For numbers; empty for none.",
        error_messages={"invalid": "Enter a number, or leave it empty for no smallest."},
    )
    max_value = forms.DecimalField(
        label="Largest number",
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text="For numbers; empty for none.",
        error_messages={"invalid": "Enter a number, or leave it empty for no largest."},
    )
    condition_question = forms.ModelChoiceField(
        label="Show only when",
        queryset=Question.objects.none(),
        required=False,
        empty_label="Always show this question",
        error_messages={
            "invalid_choice": "A condition can only depend on an earlier question of this "
            "service: choose one from the list."
        },
    )
    condition_operator = forms.ChoiceField(
        label="is / is not",
        choices=ConditionOperator.choices,
        required=False,
        error_messages={"invalid_choice": "Choose “is” or “is not”."},
    )
    condition_value = forms.CharField(
        label="Answer", max_length=200, required=False, help_text="One of that question's answers."
    )

    def __init__(self, *args, before: list[Question], **kwargs):
        super().__init__(*args, **kwargs)
        ids = [q.pk for q in before]
        self.fields["condition_question"].queryset = Question.objects.filter(pk__in=ids)
        self.fields["condition_question"].label_from_instance = lambda q: q.label
        hints = [
            f"“{q.label}”: {', '.join(condition_values(q))}" for q in before if condition_values(q)
        ]
        if hints:
            self.fields["condition_value"].help_text = "Possible answers — " + "; ".join(hints)
        self.helper.layout = Layout(
            Row(Column("label", css_class="col-md-8"), Column("kind", css_class="col-md-4")),
            Row(
                Column("help_text", css_class="col-md-9"),
                Column("required", css_class="col-md-3 pt-md-4"),
            ),
            Field("choices"),
            Row(
                Column("min_value", css_class="col-md-6"), Column("max_value", css_class="col-md-6")
            ),
            Row(
                Column("condition_question", css_class="col-md-5"),
                Column("condition_operator", css_class="col-md-3"),
                Column("condition_value", css_class="col-md-4"),
            ),
        )

    def clean_choices(self) -> list[str]:
        return choices_parse(self.cleaned_data.get("choices") or "")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") not in CHOICE_KINDS and data.get("choices"):
            # Choices left in the box from an earlier kind: not an answer this kind takes.
            data["choices"] = []
        if data.get("condition_question") and not data.get("condition_operator"):
            data["condition_operator"] = ConditionOperator.IS
        return data


def question_initial(question: Question) -> dict:
    """A question's values as QuestionForm shows them."""
    return {
        "label": question.label,
        "kind": question.kind,
        "required": question.required,
        "help_text": question.help_text,
        "choices": "\n".join(question.choices or []),
        "min_value": question.min_value,
        "max_value": question.max_value,
        "condition_question": question.condition_question_id,
        "condition_operator": question.condition_operator,
        "condition_value": question.condition_value,
    }
