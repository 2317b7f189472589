"""The MSP staff roles as groups with permissions, kept in step by every migrate."""

import logging

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

logger = logging.getLogger(__name__)

SYSTEM_ADMIN = "System administrator"
CATALOG_ADMIN = "Catalog administrator"

# A permission named here that no migrated model defines (a database migrated part of the way)
# is skipped; the migrate that creates its model adds it to the role.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    SYSTEM_ADMIN: [
        "msp_portal.manage_msp_mode",
        "msp_portal.view_auditevent",
        "accounts.view_user",
        "accounts.add_external_user",
        "accounts.view_peoplegroup",
        "accounts.add_peoplegroup",
        "accounts.change_peoplegroup",
        "customers.view_mspmoderequest",
        "itsm_sync.view_company",
        "itsm_sync.view_person",
        "itsm_sync.view_syncrun",
        "itsm_sync.run_sync",
    ],
    CATALOG_ADMIN: [
        "itsm_sync.view_company",
        "itsm_sync.view_person",
        "itsm_sync.view_syncrun",
        "itsm_sync.run_sync",
        "catalog.view_service",
        "catalog.add_service",
        "catalog.change_service",
        "catalog.view_category",
        "catalog.add_category",
        "catalog.change_category",
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
    ],
}


def roles_sync(*, apps=global_apps, using: str = "default") -> None:
    """Create the role groups and give each exactly the permissions ROLE_PERMISSIONS lists."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perm_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for perm_name in perm_names:
            app_label, codename = perm_name.split(".")
            perm = (
                Permission.objects.using(using)
                .filter(content_type__app_label=app_label, codename=codename)
                .first()
            )
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)


def roles_sync_after_migrate(apps=global_apps, using: str = "default", **kwargs) -> None:
    """post_migrate receiver for the accounts app."""
    roles_sync(apps=global_apps, using=using)
