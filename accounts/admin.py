"""Accounts in the Django admin, audited; credentials and factors only as their rules allow.

An administrator may set another person's password here (audited, the owner mailed); their own
goes through Django's password change, which asks for the current one. Authenticators are paired
and replaced by their owner under Two-factor sign-in, with a current code: here a device can only
be removed from another person (a reset: they pair a new one at their next sign-in), audited and
mailed to them. Roles are groups kept in step with accounts.roles by every migrate, so the groups
are read-only here, as are the sign-in throttle's logs; an attempt may be deleted to lift a lock.
"""

import logging

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.hashers import is_password_usable
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.http import HttpRequest
from django.shortcuts import redirect
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from msp_portal.admin import AuditedModelAdmin, ReadOnlyAdmin
from msp_portal.audit import audit_record

from .models import PeopleGroup, User
from .services import account_owner_tell

logger = logging.getLogger(__name__)

OWN_PASSWORD = (
    "The set-password page sets a password without asking for the current one, so it is for "
    "other people's accounts. Change your own here: it asks for your current password first."
)


@admin.register(User)
class UserAdmin(AuditedModelAdmin, BaseUserAdmin):
    """Users in the admin, audited; model.clean() refuses new external users once MSP mode is on.

    An account's company follows its ITSM person (one company at a time), so neither is edited
    here once the account exists; accounts are deactivated, never deleted (C4).
    """

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

    # Stamped by Django, not typed in (a round trip through the form would drop microseconds).
    readonly_fields = ["last_login", "date_joined"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "company", "person"] if obj is not None else readonly

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def user_change_password(self, request: HttpRequest, id, form_url=""):
        """Set another person's password (audited, the owner mailed); one's own is changed on
        the page that asks for the current password."""
        user = self.get_object(request, unquote(id))
        if user is not None and user.pk == request.user.pk:
            self.message_user(request, OWN_PASSWORD, messages.INFO)
            return redirect(f"{self.admin_site.name}:password_change")
        with transaction.atomic(using=router.db_for_write(self.model)):
            response = super().user_change_password(request, id, form_url)
            if user is not None:
                now = User.objects.values_list("password", flat=True).get(pk=user.pk)
                if now != user.password:
                    self._password_set(request, user, now)
        return response

    def _password_set(self, request: HttpRequest, user: User, new_hash: str) -> None:
        usable = is_password_usable(new_hash)
        audit_record(
            actor=request.user,
            action="user.password_set",
            obj=user,
            before={"password": "(hidden)" if is_password_usable(user.password) else "(none)"},
            after={"password": "(new, hidden)" if usable else "(none: password sign-in off)"},
            message="Set by an administrator in the Django admin.",
        )
        account_owner_tell(
            user=user,
            by=request.user,
            subject="your password was set by an administrator",
            what="An administrator set a new password for your MSP Portal account."
            if usable
            else "An administrator switched off password sign-in for your MSP Portal account.",
        )


class PeopleGroupAdminForm(forms.ModelForm):
    class Meta:
        model = PeopleGroup
        fields = ["name", "description", "open_to_collaborators", "members"]


@admin.register(PeopleGroup)
class PeopleGroupAdmin(AuditedModelAdmin):
    """People groups in the admin, audited with their members; model.clean() holds the service's
    rule that no group is opened to collaborators in MSP mode."""

    form = PeopleGroupAdminForm
    list_display = ["name", "open_to_collaborators", "created_at"]
    list_filter = ["open_to_collaborators"]
    search_fields = ["name"]
    filter_horizontal = ["members"]


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ReadOnlyAdmin, BaseGroupAdmin):
    """The roles: their permissions are accounts.roles.ROLE_PERMISSIONS, set again by every
    migrate, so an edit here would not last. Give a person a role on the user's page."""


class DeviceAdmin(ReadOnlyAdmin):
    """A second factor, shown without its secret. Only another person's device can be removed:
    that is the reset after a lost phone, and they pair a new one at their next sign-in."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_select_related = ["user"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    search_fields = ["user__username", "user__email"]

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.user_id == request.user.pk:
            return False
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        if queryset.filter(user=request.user).exists():
            raise PermissionDenied("Replace your own authenticator under Two-factor sign-in.")
        super().delete_queryset(request, queryset)

    def audit_delete(self, request: HttpRequest, obj) -> None:
        owner = obj.user
        audit_record(
            actor=request.user,
            action="two_factor.reset",
            obj=owner,
            before={"device": obj.name},
            message=f"Removed in the Django admin; {owner.get_username()} pairs a new one at "
            "the next sign-in.",
        )
        account_owner_tell(
            user=owner,
            by=request.user,
            subject="your two-factor sign-in was reset",
            what=f"An administrator removed your “{obj.name}”. At your next sign-in you will be "
            "asked to pair an authenticator app again.",
        )


admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)
admin.site.register(TOTPDevice, DeviceAdmin)
admin.site.register(StaticDevice, DeviceAdmin)


class AccessAttemptAdmin(ReadOnlyAdmin, axes_admin.AccessAttemptAdmin):
    """Failed sign-ins counted by the throttle; deleting one lifts its lock, audited."""

    actions = []
    audit_fields = ["username", "ip_address", "user_agent", "path_info", "failures_since_start"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)


class AccessLogAdmin(ReadOnlyAdmin, axes_admin.AccessLogAdmin):
    pass


class AccessFailureLogAdmin(ReadOnlyAdmin, axes_admin.AccessFailureLogAdmin):
    pass


# django-axes registers its admins unless AXES_ENABLE_ADMIN is off; ours take their place.
for _model, _model_admin in [
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
]:
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
        admin.site.register(_model, _model_admin)
