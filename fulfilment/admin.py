from django.contrib import admin

from .models import FulfilmentSettings, TicketPush


@admin.register(FulfilmentSettings)
class FulfilmentSettingsAdmin(admin.ModelAdmin):
    list_display = ("service", "mode", "work_order_type", "priority", "updated_at")
    readonly_fields = [f.name for f in FulfilmentSettings._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # through the service's Fulfilment page, which checks the ITSM form


@admin.register(TicketPush)
class TicketPushAdmin(admin.ModelAdmin):
    list_display = ("request", "mode", "state", "attempts", "number", "itsm_status", "updated_at")
    list_filter = ("state", "mode")
    readonly_fields = [f.name for f in TicketPush._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
