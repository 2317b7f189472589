"""The Django admin site of the portal: Django's own, with a password change that is audited."""

from django.contrib.admin import AdminSite


class PortalAdminSite(AdminSite):
    site_header = "MSP Portal administration"
    site_title = "MSP Portal"

    def password_change(self, request, extra_context=None):
        """Django's page (it asks for the current password); the change is audited and mailed."""
        from django.contrib.auth.views import PasswordChangeView
        from django.urls import reverse

        from .forms import AuditedPasswordChangeForm

        request.current_app = self.name
        return PasswordChangeView.as_view(
            form_class=AuditedPasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)
