from django.contrib import admin

from .models import Company, Person, RejectedRecord, SyncRun


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "company_type", "status", "abbreviation", "is_active", "last_modified"]
    list_filter = ["company_type", "status", "is_active"]
    search_fields = ["name", "entry_id", "abbreviation"]
    readonly_fields = ["mirrored_at"]
    show_full_result_count = False


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = [
        "person_id",
        "first_name",
        "last_name",
        "company",
        "organization",
        "department",
        "profile_status",
        "is_active",
    ]
    list_filter = ["profile_status", "is_active", "client_type"]
    search_fields = ["person_id", "remedy_login_id", "first_name", "last_name", "email"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]
    readonly_fields = ["mirrored_at"]
    show_full_result_count = False


class _ReadOnly(admin.ModelAdmin):
    """Run history is written by the sync itself; nobody edits it by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SyncRun)
class SyncRunAdmin(_ReadOnly):
    list_display = [
        "id",
        "kind",
        "mode",
        "dry_run",
        "status",
        "started_at",
        "seen",
        "created",
        "updated",
        "rejected",
    ]
    list_filter = ["kind", "status", "dry_run"]
    show_full_result_count = False


@admin.register(RejectedRecord)
class RejectedRecordAdmin(_ReadOnly):
    list_display = ["run", "key", "reason"]
    list_select_related = ["run"]
    show_full_result_count = False
