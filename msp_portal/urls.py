"""The URL root; every app's pages hang from here."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views as accounts_views
from accounts.forms import AuditedSetPasswordForm, PasswordResetOrInviteForm
from sso import views as sso_views
from sso.urls import allauth_urlpatterns

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # E-mail first: a customer's own identity provider, or the password (I1, sso/).
    path("login/", sso_views.sign_in, name="login"),
    # Ends the portal session, and a SAML IdP's too where it offers single logout (sso/).
    path("logout/", sso_views.sign_out, name="logout"),
    # "Forgot password?": a link to choose a password, e-mailed like an invitation.
    path(
        "forgot-password/",
        auth_views.PasswordResetView.as_view(form_class=PasswordResetOrInviteForm),
        name="password_reset",
    ),
    path(
        "forgot-password/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "set-password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(form_class=AuditedSetPasswordForm),
        name="password_reset_confirm",
    ),
    path(
        "set-password/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("two-factor/", accounts_views.two_factor_manage, name="two_factor_manage"),
    path("two-factor/setup/", accounts_views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/verify/", accounts_views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/replace/", accounts_views.two_factor_replace, name="two_factor_replace"),
    path(
        "two-factor/recovery-codes/",
        accounts_views.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path("audit/", views.audit_event_list, name="audit_event_list"),
    path("accounts/", include("accounts.urls")),
    path("customers/", include("customers.urls")),
    path("catalog/", include("catalog.urls")),
    path("credits/", include("credits.urls")),
    path("itsm/", include("itsm_sync.urls")),
    path("manage/", include("entitlements.urls_manage")),
    path("portal/", include("entitlements.urls_portal")),
    path("approvals/", include("approvals.urls")),
    path("fulfilment/", include("fulfilment.urls")),
    path("sso/", include("sso.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("sso/", include(allauth_urlpatterns)),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]
