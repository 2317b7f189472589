from django.contrib import admin

from .models import MspModeRequest


@admin.register(MspModeRequest)
class MspModeRequestAdmin(admin.ModelAdmin):
    """Operators see the requests here; they fulfil one with `manage.py enable_msp --ticket N`."""

    list_display = ["id", "status", "requested_by", "requested_at", "closed_at"]
    list_filter = ["status"]
    readonly_fields = ["requested_by", "requested_at", "note", "status", "closed_at", "outcome"]

    def has_add_permission(self, request) -> bool:
        return False
