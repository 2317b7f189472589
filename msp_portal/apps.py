from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MspPortalConfig(AppConfig):
    name = "msp_portal"
    verbose_name = "MSP Portal"

    def ready(self) -> None:
        from . import installation
        from .models import AuditEvent
        from .tenancy import by_permission, scope_register

        post_migrate.connect(installation.record_release_after_migrate, sender=self)
        # The audit trail is the system administrators' (T3), every event of it.
        scope_register(AuditEvent, by_permission("msp_portal.view_auditevent"))
