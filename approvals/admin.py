from django.contrib import admin

from .models import ApprovalLink, ApprovalStep


@admin.register(ApprovalStep)
class ApprovalStepAdmin(admin.ModelAdmin):
    """Read-only: steps are decided on the Approvals page, where the decision is checked and
    audited."""

    list_display = ("request", "order", "kind", "status", "waiting_since", "decided_by_label")
    list_filter = ("status", "kind")
    readonly_fields = [f.name for f in ApprovalStep._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApprovalLink)
class ApprovalLinkAdmin(admin.ModelAdmin):
    list_display = ("step", "approver", "round", "created_at", "used_at", "used_for")
    readonly_fields = [f.name for f in ApprovalLink._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
