"""The ITSM mirror in the Django admin, read-only: the sync writes it (S1–S3), and a hand edit
would be undone by the next sync without the follow-ups a sync applies (accounts following a
person's company, administrators and end users re-checked, C2 and C4)."""

from django.contrib import admin

from msp_portal.admin import ReadOnlyAdmin

from .models import Company, Person, RejectedRecord, SyncRun


@admin.register(Company)
class CompanyAdmin(ReadOnlyAdmin):
    list_display = ["name", "company_type", "status", "abbreviation", "is_active", "last_modified"]
    list_filter = ["company_type", "status", "is_active"]
    search_fields = ["name", "entry_id", "abbreviation"]
    readonly_fields = ["mirrored_at"]
    show_full_result_count = False


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
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


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
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
class RejectedRecordAdmin(ReadOnlyAdmin):
    list_display = ["run", "key", "reason"]
    list_select_related = ["run"]
    show_full_result_count = False
