"""Use-case forms of accounts; cleaned_data keys are the service arguments."""

from django import forms
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm, _unicode_ci_compare

from itsm_sync.models import Company
from msp_portal.forms import PortalForm

from .models import User
from .services import account_password_changed


class ExternalUserForm(PortalForm):
    username = forms.CharField(max_length=150)
    email = forms.EmailField()
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    company = forms.ModelChoiceField(
        queryset=Company.objects.filter(is_active=True).order_by("name"),
        help_text="The company this external user belongs to.",
    )


class PeopleGroupForm(PortalForm):
    name = forms.CharField(max_length=150)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    open_to_collaborators = forms.BooleanField(
        label="Available to end users as collaborators", required=False
    )


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """Django's own change form (it asks for the current password), recorded and mailed (T3)."""

    def save(self, commit: bool = True):
        user = super().save(commit=commit)
        account_password_changed(user=user, how="Changed with the current password.")
        return user


class AuditedSetPasswordForm(SetPasswordForm):
    """Choosing a password from an e-mailed link (invitation or reset), recorded and mailed."""

    def save(self, commit: bool = True):
        user = super().save(commit=commit)
        account_password_changed(user=user, how="Chosen through an e-mailed link.")
        return user


class PasswordResetOrInviteForm(PasswordResetForm):
    """ "Forgot password?": a link to choose a password, also for an account that never chose one
    (an invitation lost or expired); Django's own form skips those. The answer is the same
    whether or not an account has the address."""

    def get_users(self, email):
        users = User._default_manager.filter(email__iexact=email, is_active=True)
        return (u for u in users if _unicode_ci_compare(email, u.email))
