"""Use-case forms of webhooks: their cleaned_data keys are the services' arguments."""

from django import forms

from customers.selectors import customer_list
from msp_portal.forms import PortalForm

from .models import CATALOG_WIDE_ONLY, Event


class EndpointForm(PortalForm):
    """An endpoint's address, events and description; the service checks them (url_clean)."""

    url = forms.CharField(
        label="Receiver URL",
        max_length=2000,
        help_text="Where each event is POSTed as JSON, e.g. https://hooks.example.com/msp-portal.",
        widget=forms.URLInput(attrs={"placeholder": "https://", "inputmode": "url"}),
    )
    description = forms.CharField(
        max_length=200, required=False, help_text="For you: what this receiver is for."
    )
    events = forms.MultipleChoiceField(
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event to send to this endpoint."},
    )

    def __init__(self, *args, customer_wide: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not customer_wide:
            # A customer's endpoint hears only of that customer: no sync runs.
            self.fields["events"].choices = [
                (value, label) for value, label in Event.choices if value not in CATALOG_WIDE_ONLY
            ]


class EndpointAddForm(EndpointForm):
    """Catalog administrators choose whose endpoint it is; customer administrators don't."""

    customer = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="All customers (catalog-wide)",
        help_text="A customer's endpoint gets that customer's events only.",
    )

    def __init__(self, *args, user, choose_customer: bool, **kwargs):
        super().__init__(*args, customer_wide=choose_customer, **kwargs)
        if choose_customer:
            self.fields["customer"].queryset = customer_list(user=user).select_related("company")
            self.order_fields(["customer", "url", "description", "events"])
        else:
            del self.fields["customer"]


class EndpointChangeForm(EndpointForm):
    active = forms.BooleanField(
        label="Active", required=False, help_text="Switched off, events are not sent to it."
    )
