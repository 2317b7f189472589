"""Use-case forms of accounts; cleaned_data keys are the service arguments."""

from django import forms

from itsm_sync.models import Company
from msp_portal.forms import PortalForm


class ExternalUserForm(PortalForm):
    username = forms.CharField(max_length=150)
    email = forms.EmailField()
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    company = forms.ModelChoiceField(
        queryset=Company.objects.filter(is_active=True).order_by("name"),
        help_text="The company this external user belongs to.",
    )


class PeopleGroupForm(PortalForm):
    name = forms.CharField(max_length=150)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    open_to_collaborators = forms.BooleanField(
        label="Available to end users as collaborators", required=False
    )
