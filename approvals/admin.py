from django.contrib import admin

from msp_portal.admin import ReadOnlyAdmin

from .models import ApprovalLink, ApprovalStep


@admin.register(ApprovalStep)
class ApprovalStepAdmin(ReadOnlyAdmin):
    """Shown only: steps are decided on the Approvals page, where the decision is checked."""

    list_display = ("request", "order", "kind", "status", "waiting_since", "decided_by_label")
    list_filter = ("status", "kind")


@admin.register(ApprovalLink)
class ApprovalLinkAdmin(ReadOnlyAdmin):
    list_display = ("step", "approver", "round", "created_at", "used_at", "used_for")
