"""Customers in the Django admin, read-only: their rules (C1–C4, M5) live in customers.services,
which the Customers pages and enable_msp call."""

from django.contrib import admin

from msp_portal.admin import ReadOnlyAdmin

from .models import Customer, MspModeRequest


@admin.register(MspModeRequest)
class MspModeRequestAdmin(ReadOnlyAdmin):
    """Operators see the requests here; they fulfil one with `manage.py enable_msp --ticket N`."""

    list_display = ["id", "status", "requested_by", "requested_at", "closed_at"]
    list_filter = ["status"]
    fields = ["requested_by", "requested_at", "note", "status", "closed_at", "outcome"]


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    """Read-only here: customers are added and changed on the Customers pages, through the rules."""

    list_display = ["company", "credit_management", "alert_threshold", "needs_administrator"]
    list_select_related = ["company"]
    search_fields = ["company__name"]
    show_full_result_count = False
