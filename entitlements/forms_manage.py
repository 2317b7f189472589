"""Use-case forms of customer administrators: marketplaces, their offers and their audiences.

Every form takes the managed customer (or one of its marketplaces) and narrows its choices to
what that customer owns, so a crafted POST naming another customer's user or service is a form
error before the service re-checks it (T1).
"""

from django import forms

from accounts.models import User
from catalog.models import Service, ServiceStatus
from customers.forms import EndUserFilterForm
from customers.models import Customer
from customers.selectors import company_people_list, end_user_list, filter_attribute_values
from msp_portal.forms import PortalForm

from .models import AudienceKind, Marketplace


class MarketplaceForm(PortalForm):
    """Create or rename a marketplace; keys are marketplace_create/rename's arguments."""

    name = forms.CharField(max_length=120, help_text="For example “Finance tools” or “Everyone”.")
    description = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: who it is for, shown to administrators only.",
    )


def offerable_services(marketplace: Marketplace):
    """Published services assigned to the marketplace's customer and not offered in it yet (C3)."""
    return (
        Service.objects.filter(
            assignments__customer_id=marketplace.customer_id, status=ServiceStatus.PUBLISHED
        )
        .exclude(assignments__offers__marketplace=marketplace)
        .select_related("category")
        .order_by("name", "id")
    )


class OfferAddForm(forms.Form):
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        error_messages={
            "required": "Tick at least one service to offer.",
            "invalid_choice": "That service is not assigned to this customer, not published, or "
            "offered here already.",
        },
    )

    def __init__(self, *args, marketplace: Marketplace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = offerable_services(marketplace)


def active_end_users(customer: Customer):
    """The customer's active end users: the only people a named-user rule may name."""
    return end_user_list(customer=customer).filter(is_active=True)


class AudienceUserForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.none(),
        error_messages={
            "required": "Search for an end user and choose one.",
            "invalid_choice": "Choose one of this customer's active end users.",
        },
    )

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = active_end_users(customer)

    @property
    def rule(self) -> dict:
        return {"kind": AudienceKind.USER, "user": self.cleaned_data["user"]}


def department_choices(customer: Customer, organization: str) -> list[str]:
    """Departments of one organization among the customer's company's Enabled people."""
    if not organization:
        return []
    return list(
        company_people_list(company_id=customer.company_id)
        .filter(organization=organization)
        .exclude(department="")
        .order_by("department")
        .values_list("department", flat=True)
        .distinct()
    )


class AudienceGroupForm(forms.Form):
    """A derived group: the company, or one organization of it, or one department of that."""

    organization = forms.ChoiceField(required=False)
    department = forms.ChoiceField(required=False)

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        company = customer.company.name
        organizations = filter_attribute_values(company_id=customer.company_id)["organization"]
        self.fields["organization"].choices = [("", f"All of {company}")] + [
            (o, o) for o in organizations
        ]
        chosen = self.data.get("organization", "") if self.is_bound else ""
        self.fields["department"].choices = [("", "Every department")] + [
            (d, d) for d in department_choices(customer, chosen)
        ]
        self.fields["organization"].error_messages["invalid_choice"] = (
            f"%(value)s is not an organization of {company}'s people: choose one from the list."
        )
        self.fields["department"].error_messages["invalid_choice"] = (
            "%(value)s is not a department of that organization: choose one from the list."
        )

    @property
    def rule(self) -> dict:
        return {
            "kind": AudienceKind.GROUP,
            "organization": self.cleaned_data["organization"],
            "department": self.cleaned_data["department"],
        }


class AudienceFilterForm(EndUserFilterForm):
    """Attribute checkboxes exactly as in the end-user filter editor, without a name."""

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(
            *args,
            attribute_values=filter_attribute_values(company_id=customer.company_id),
            **kwargs,
        )
        del self.fields["name"]

    @property
    def rule(self) -> dict:
        return {"kind": AudienceKind.FILTER, "criteria": self.criteria}


class AudienceEveryoneForm(forms.Form):
    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)

    @property
    def rule(self) -> dict:
        return {"kind": AudienceKind.EVERYONE}


AUDIENCE_FORMS: dict[str, type[forms.Form]] = {
    AudienceKind.EVERYONE: AudienceEveryoneForm,
    AudienceKind.USER: AudienceUserForm,
    AudienceKind.GROUP: AudienceGroupForm,
    AudienceKind.FILTER: AudienceFilterForm,
}
