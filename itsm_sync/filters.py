"""Filters of the company and people directories (msp_portal.filters).

Each FilterSet narrows its selector's directory of every mirrored record (`active=None`, already
empty for a user without the directory's permission). A directory lists by default only what the
source still lists: "In the source" applies even when nothing or something refused is asked.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

from msp_portal.fast_html import Select
from msp_portal.filters import PortalFilterSet, SearchFilter

from .models import CompanyType, RecordStatus
from .selectors import company_search_q, person_search_q
from .sources import CLIENT_TYPES

# "In the source": whether the record is still listed by the source (None = either).
PRESENT = {"": True, "gone": False, "all": None}
PRESENT_CHOICES = [("gone", "No longer in the source"), ("all", "Present or not")]
SELECT = {"class": "form-select"}


def _search(placeholder: str) -> SearchFilter:
    return SearchFilter(
        label="Search",
        method="filter_query",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "class": "form-control",
                "autocomplete": "off",
                "placeholder": placeholder,
            }
        ),
    )


class PresentFilter(django_filters.ChoiceFilter):
    """In the source (the default), no longer in it, or either."""

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        active = PRESENT.get(value or "", True)
        return qs if active is None else qs.filter(is_active=active)


class _DirectoryFilterSet(PortalFilterSet):
    present = PresentFilter(
        label="In the source",
        choices=PRESENT_CHOICES,
        empty_label="In the source",
        widget=Select(attrs=SELECT),
    )

    def __init__(self, data: QueryDict | None, queryset: QuerySet, **kwargs):
        # Always bound: with nothing asked, the directory still lists only what is in the source.
        super().__init__(data if data is not None else QueryDict(), queryset, **kwargs)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if "present" not in self.form.cleaned_data:  # refused: the default, as if not asked
            queryset = self.filters["present"].filter(queryset, "")
        return queryset


class CompanyFilterSet(_DirectoryFilterSet):
    query = _search("Name, abbreviation or entry ID")
    company_type = django_filters.ChoiceFilter(
        label="Type",
        choices=CompanyType.choices,
        empty_label="All types",
        widget=Select(attrs=SELECT),
    )
    status = django_filters.ChoiceFilter(
        label="Status",
        choices=RecordStatus.choices,
        empty_label="All statuses",
        widget=Select(attrs=SELECT),
    )

    def filter_query(self, companies: QuerySet, name: str, value: str) -> QuerySet:
        return companies.filter(company_search_q(value))


class PersonFilterSet(_DirectoryFilterSet):
    """People filters; organization and department options are those of the chosen company.

    companies: (pk, name) of the companies to choose from (the user's own view of the mirror);
    places: the chosen company's (organization, department) pairs, or None before one is chosen.
    """

    query = _search("Name, e-mail, login or Person ID")
    company = django_filters.TypedChoiceFilter(
        field_name="company_id",
        label="Company",
        coerce=int,
        empty_value=None,
        widget=Select(attrs=SELECT),
    )
    organization = django_filters.ChoiceFilter(label="Organization", widget=Select(attrs=SELECT))
    department = django_filters.ChoiceFilter(label="Department", widget=Select(attrs=SELECT))
    client_type = django_filters.ChoiceFilter(
        label="Type",
        choices=[(t, t) for t in CLIENT_TYPES],
        empty_label="All client types",
        widget=Select(attrs=SELECT),
    )
    profile_status = django_filters.ChoiceFilter(
        label="Status",
        choices=RecordStatus.choices,
        empty_label="All statuses",
        widget=Select(attrs=SELECT),
    )

    def __init__(
        self,
        data: QueryDict | None,
        queryset: QuerySet,
        *,
        companies: list[tuple[int, str]],
        places: list[tuple[str, str]] | None = None,
        **kwargs,
    ):
        super().__init__(data, queryset, **kwargs)
        self.choices_set("company", choices=[("", "All companies"), *companies])
        self.has_company = places is not None
        places = places or []
        organizations = sorted({org for org, _dept in places if org})
        organization = self.data.get("organization", "")
        if organization not in organizations:
            organization = ""
        departments = sorted(
            {dept for org, dept in places if dept and (not organization or org == organization)}
        )
        for name, values, every in (
            ("organization", organizations, "All organizations"),
            ("department", departments, "All departments"),
        ):
            self.choices_set(
                name,
                choices=[(v, v) for v in values],
                empty_label=every if self.has_company else "Choose a company first",
                widget=Select(
                    attrs={**SELECT, "disabled": True} if not self.has_company else SELECT
                ),
            )

    def filter_query(self, people: QuerySet, name: str, value: str) -> QuerySet:
        return people.filter(person_search_q(value))
