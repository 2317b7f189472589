from django.apps import AppConfig


class ItsmSyncConfig(AppConfig):
    name = "itsm_sync"
    verbose_name = "ITSM sync"
