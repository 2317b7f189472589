from django.contrib import admin

from msp_portal.admin import ReadOnlyAdmin

from .models import FulfilmentSettings, TicketPush


@admin.register(FulfilmentSettings)
class FulfilmentSettingsAdmin(ReadOnlyAdmin):
    """Shown only: settings are saved through the service's Fulfilment page, which checks the
    mapped fields with the ITSM."""

    list_display = ("service", "mode", "work_order_type", "priority", "updated_at")


@admin.register(TicketPush)
class TicketPushAdmin(ReadOnlyAdmin):
    """Shown only: the outbox of tickets is written by the fulfilment services alone (R4)."""

    list_display = ("request", "mode", "state", "attempts", "number", "itsm_status", "updated_at")
    list_filter = ("state", "mode")
