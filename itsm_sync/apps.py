from django.apps import AppConfig


class ItsmSyncConfig(AppConfig):
    name = "itsm_sync"
    verbose_name = "ITSM sync"

    def ready(self) -> None:
        from msp_portal.views import HOME_TILES

        from .home import home_tiles

        if home_tiles not in HOME_TILES:
            HOME_TILES.append(home_tiles)
