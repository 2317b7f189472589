from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from msp_portal.context_processors import NAV_PROVIDERS

        from . import receivers, scope
        from .navigation import nav_items

        scope.register()
        receivers.connect()
        if nav_items not in NAV_PROVIDERS:
            NAV_PROVIDERS.append(nav_items)
