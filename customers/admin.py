from django.contrib import admin

from .models import Customer, MspModeRequest


@admin.register(MspModeRequest)
class MspModeRequestAdmin(admin.ModelAdmin):
    """Operators see the requests here; they fulfil one with `manage.py enable_msp --ticket N`."""

    list_display = ["id", "status", "requested_by", "requested_at", "closed_at"]
    list_filter = ["status"]
    readonly_fields = ["requested_by", "requested_at", "note", "status", "closed_at", "outcome"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Read-only here: customers are added and changed on the Customers pages, through the rules."""

    list_display = ["company", "credit_management", "alert_threshold", "needs_administrator"]
    list_select_related = ["company"]
    search_fields = ["company__name"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
