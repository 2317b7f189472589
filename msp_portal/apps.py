from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MspPortalConfig(AppConfig):
    name = "msp_portal"
    verbose_name = "MSP Portal"

    def ready(self) -> None:
        from . import installation

        post_migrate.connect(installation.record_release_after_migrate, sender=self)
