from django.contrib import admin

from .models import Company, Person


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
        "person_id", "first_name", "last_name", "company", "organization", "department",
        "profile_status", "is_active",
    ]
    list_filter = ["profile_status", "is_active", "client_type"]
    search_fields = ["person_id", "remedy_login_id", "first_name", "last_name", "email"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]
    readonly_fields = ["mirrored_at"]
    show_full_result_count = False
