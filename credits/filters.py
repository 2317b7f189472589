"""Filters of a customer's ledger and its CSV export (msp_portal.filters)."""

import django_filters
from django import forms

from msp_portal.filters import DayFilter, IdFilter, PortalFilterSet

from .models import EntryKind


class LedgerFilterSet(PortalFilterSet):
    """Narrow one account's ledger (the selector's, scoped to the user) by kind, days and request.

    A request number only matches entries of this account, so another customer's request
    number finds nothing here.
    """

    kind = django_filters.ChoiceFilter(
        label="Kind", choices=EntryKind.choices, empty_label="All kinds"
    )
    date_from = DayFilter("created_at", bound="from", label="From")
    date_to = DayFilter("created_at", bound="to", label="To")
    request_id = IdFilter(field_name="request_id", label="Request #", widget=forms.NumberInput())


class NotificationFilterSet(PortalFilterSet):
    """The bell's list over the user's own notifications: all of them, or the unread ones."""

    unread = django_filters.ChoiceFilter(
        choices=[("1", "Unread")], empty_label="All", method="filter_unread"
    )

    def filter_unread(self, notifications, name: str, value: str):
        return notifications.filter(read_at__isnull=True)

    @property
    def unread_only(self) -> bool:
        return self.applied.get("unread") == "1"
