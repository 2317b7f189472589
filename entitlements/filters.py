"""Filters of the request list and its CSV export (msp_portal.filters)."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from catalog.models import Service
from customers.models import Customer
from msp_portal.filters import DayFilter, IdChoiceFilter, PortalFilterSet, SearchFilter

from .models import OPEN_STATUSES, RequestStatus, ServiceRequest

SELECT = {"class": "form-select"}
REQUESTER_WORDS = 4


class RequestFilterSet(PortalFilterSet):
    """Narrow an already scoped request list; the day range on submitted_at keeps its index usable.

    services: the services the user may pick; customers: the customers a catalog administrator
    may pick, or None for a customer administrator (the filter is left out).
    """

    status = django_filters.ChoiceFilter(
        label="Status",
        choices=[
            ("open", "Open (awaiting approval, approved or in progress)"),
            *RequestStatus.choices,
        ],
        empty_label="Any status",
        method="filter_status",
        widget=forms.Select(attrs=SELECT),
    )
    service = IdChoiceFilter(
        label="Service", empty_label="Any service", widget=forms.Select(attrs=SELECT)
    )
    requester = SearchFilter(
        label="Requester",
        method="filter_requester",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "class": "form-control",
                "placeholder": "Name, login or e-mail",
                "autocomplete": "off",
            }
        ),
    )
    date_from = DayFilter("submitted_at", bound="from", label="From")
    date_to = DayFilter("submitted_at", bound="to", label="To")
    customer = IdChoiceFilter(
        label="Customer", empty_label="Every customer", widget=forms.Select(attrs=SELECT)
    )

    def __init__(
        self,
        data=None,
        queryset: QuerySet[ServiceRequest] | None = None,
        *,
        services: QuerySet[Service],
        customers: QuerySet[Customer] | None = None,
        **kwargs,
    ):
        super().__init__(data, queryset, **kwargs)
        self.choices_set("service", services)
        if customers is None:
            del self.filters["customer"]
        else:
            self.choices_set("customer", customers)

    def filter_status(self, rows: QuerySet, name: str, value: str) -> QuerySet:
        if value == "open":
            return rows.filter(status__in=OPEN_STATUSES)
        return rows.filter(status=value)

    def filter_requester(self, rows: QuerySet, name: str, value: str) -> QuerySet:
        for word in value.split()[:REQUESTER_WORDS]:
            rows = rows.filter(
                Q(requester__first_name__icontains=word)
                | Q(requester__last_name__icontains=word)
                | Q(requester__username__icontains=word)
                | Q(requester__email__icontains=word)
            )
        return rows
