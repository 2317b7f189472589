"""Use-case forms of customers."""

from decimal import Decimal

from django import forms

from catalog.models import Service
from itsm_sync.models import Company, Person
from msp_portal.forms import PortalForm
from msp_portal.params import parse_id

from .models import FILTER_ATTRIBUTES
from .selectors import assignable_service_list, company_people_list, eligible_company_list

CONFIRMATION_PHRASE = "ENABLE MSP MODE"
DISABLE_PHRASE = "DISABLE MSP MODE"


class MspEnableForm(PortalForm):
    confirmation = forms.CharField(
        label=f"Type {CONFIRMATION_PHRASE} to confirm",
        max_length=40,
        help_text="Once the first customer is added, MSP mode can't be switched off again.",
    )

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"].strip()
        if value != CONFIRMATION_PHRASE:
            raise forms.ValidationError(
                f"Type {CONFIRMATION_PHRASE} exactly (in capitals) to switch MSP mode on."
            )
        return value


class MspDisableForm(PortalForm):
    confirmation = forms.CharField(
        label=f"Type {DISABLE_PHRASE} to confirm",
        max_length=40,
        help_text="Possible only while no customer has ever been added.",
    )

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"].strip()
        if value != DISABLE_PHRASE:
            raise forms.ValidationError(
                f"Type {DISABLE_PHRASE} exactly (in capitals) to switch MSP mode off."
            )
        return value


class MspRequestForm(PortalForm):
    note = forms.CharField(
        label="Note for the operator",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
    )


class CustomerSettingsForm(PortalForm):
    credit_management = forms.BooleanField(
        label="Credit Management",
        required=False,
        help_text="Requests of this customer draw on a credit balance.",
    )
    alert_threshold = forms.DecimalField(
        label="Alert threshold (credits)",
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        # Text, not a number input: a number input drops letters and posts nothing, which
        # would save "no alert" without a word.
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "No alert"}
        ),
        help_text="Administrators are alerted when the balance drops below it. "
        "Leave it empty for no alert.",
        error_messages={
            "invalid": "Enter the alert threshold as a number of credits, such as 100 or 12.50; "
            "leave it empty for no alert.",
            "min_value": "The alert threshold can't be negative: enter 0 or more, or leave it "
            "empty for no alert.",
            "max_digits": "Enter an alert threshold below 10,000,000,000 credits.",
            "max_whole_digits": "Enter an alert threshold below 10,000,000,000 credits.",
            "max_decimal_places": "Enter the alert threshold with at most 2 decimal places, "
            "such as 12.50.",
        },
    )


class CustomerAddForm(CustomerSettingsForm):
    company = forms.ModelChoiceField(
        queryset=Company.objects.none(),
        empty_label="Choose a company…",
        error_messages={
            "invalid_choice": "That company can't become a customer: choose one from the list."
        },
    )
    administrators = forms.ModelMultipleChoiceField(
        queryset=Person.objects.none(),
        required=False,
        error_messages={
            "invalid_choice": "Administrators must be Enabled people of the chosen company.",
        },
    )
    services = forms.ModelMultipleChoiceField(queryset=Service.objects.none(), required=False)
    opening_grant = forms.DecimalField(
        label="Opening grant (credits)",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "None"}),
        help_text="Optional: the credits the customer starts with (needs Credit Management).",
    )

    field_order = [
        "company",
        "administrators",
        "services",
        "credit_management",
        "alert_threshold",
        "opening_grant",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = eligible_company_list()
        self.fields["services"].queryset = assignable_service_list()
        company_id = parse_id(self.data.get("company")) if self.is_bound else None
        if company_id is not None:
            self.fields["administrators"].queryset = company_people_list(company_id=company_id)

    def clean_administrators(self):
        people = list(self.cleaned_data["administrators"])
        if not people and self.data.get("company"):
            raise forms.ValidationError(
                "Name at least one administrator: every customer needs one (search the people "
                "of the company above)."
            )
        return people


class ServicesAddForm(PortalForm):
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        error_messages={
            "required": "Tick at least one service to add.",
            "invalid_choice": "That service is not published or is assigned already.",
        },
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = assignable_service_list(customer=customer)


class AdministratorAddForm(PortalForm):
    person = forms.ModelChoiceField(
        queryset=Person.objects.none(),
        error_messages={
            "required": "Choose a person to make administrator.",
            "invalid_choice": "Administrators must be Enabled people of this customer's company.",
        },
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = company_people_list(company_id=customer.company_id)


class EndUserFilterForm(PortalForm):
    name = forms.CharField(max_length=120, help_text="For example “Finance in Europe”.")

    def __init__(self, *args, attribute_values: dict[str, list[str]], **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in FILTER_ATTRIBUTES:
            self.fields[name] = forms.MultipleChoiceField(
                label=label,
                required=False,
                choices=[(v, v) for v in attribute_values.get(name, [])],
                widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
                error_messages={
                    "invalid_choice": f"%(value)s is not a {label.lower()} of this company's people."
                },
            )

    @property
    def criteria(self) -> dict[str, list[str]]:
        return {name: self.cleaned_data.get(name) or [] for name, _ in FILTER_ATTRIBUTES}

    def attribute_fields(self):
        return [self[name] for name, _ in FILTER_ATTRIBUTES]
