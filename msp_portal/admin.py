from django.contrib import admin

from .models import AuditEvent, Installation, MspMode, ReleaseChange


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the product writes itself; nobody edits them by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "acting_as_label", "action", "object_repr"]
    list_filter = ["action"]
    search_fields = ["actor_label", "object_repr", "action"]
    show_full_result_count = False


@admin.register(Installation)
class InstallationAdmin(ReadOnlyAdmin):
    list_display = ["installed_release", "current_release", "installed_at"]


@admin.register(ReleaseChange)
class ReleaseChangeAdmin(ReadOnlyAdmin):
    list_display = ["from_release", "to_release", "at"]


@admin.register(MspMode)
class MspModeAdmin(ReadOnlyAdmin):
    list_display = ["enabled", "enabled_at", "enabled_by_label"]
