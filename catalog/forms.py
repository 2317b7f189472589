"""Use-case forms of the catalog; cleaned_data keys are the service and selector arguments."""

from crispy_forms.bootstrap import AppendedText
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms

from msp_portal.forms import PortalForm

from .models import ServiceStatus
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
        )


class CategoryForm(PortalForm):
    name = forms.CharField(max_length=120, error_messages={"required": "Give the category a name."})
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Optional: what kind of services belong here.",
    )
