from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from accounts.models import User
        from itsm_sync.signals import person_company_changed, sync_run_finished

        from . import receivers, scope

        scope.register()

        person_company_changed.connect(
            receivers.person_moved, dispatch_uid="customers.person_moved"
        )
        sync_run_finished.connect(receivers.sync_run_finished, dispatch_uid="customers.sync_run")
        post_save.connect(
            receivers.account_saved, sender=User, dispatch_uid="customers.account_saved"
        )

        from msp_portal.views import HOME_TILES

        from .views import home_tiles

        if home_tiles not in HOME_TILES:
            HOME_TILES.append(home_tiles)
