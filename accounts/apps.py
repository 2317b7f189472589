from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from itsm_sync.signals import person_company_changed
        from msp_portal.tenancy import by_permission, scope_register

        from . import receivers, roles
        from .models import PeopleGroup

        scope_register(
            PeopleGroup, by_permission("accounts.view_peoplegroup", "accounts.change_peoplegroup")
        )

        post_migrate.connect(roles.roles_sync_after_migrate, sender=self)
        person_company_changed.connect(receivers.person_moved, dispatch_uid="accounts.person_moved")


class PortalAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the portal's site (accounts.admin_site), in INSTALLED_APPS."""

    default = False  # AccountsConfig stays this module's default

    default_site = "accounts.admin_site.PortalAdminSite"
