from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import PeopleGroup, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Users in the admin; model.clean() refuses new external users once MSP mode is on."""

    list_display = ["username", "email", "company", "is_external", "is_active", "is_staff"]
    list_filter = ["is_external", "is_active", "is_staff", "groups"]
    list_select_related = ["company"]
    autocomplete_fields = ["company", "person"]
    show_full_result_count = False
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        ("ITSM", {"fields": ["company", "person", "is_external"]}),
    ]
    add_fieldsets = [
        *BaseUserAdmin.add_fieldsets,
        ("ITSM", {"fields": ["company", "person", "is_external"]}),
    ]


class PeopleGroupAdminForm(forms.ModelForm):
    class Meta:
        model = PeopleGroup
        fields = ["name", "description", "open_to_collaborators", "members"]


@admin.register(PeopleGroup)
class PeopleGroupAdmin(admin.ModelAdmin):
    """People groups in the admin; model.clean() refuses opening one to collaborators in MSP mode."""

    form = PeopleGroupAdminForm
    list_display = ["name", "open_to_collaborators", "created_at"]
    list_filter = ["open_to_collaborators"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
