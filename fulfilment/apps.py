from django.apps import AppConfig


class FulfilmentConfig(AppConfig):
    name = "fulfilment"

    def ready(self) -> None:
        from entitlements.signals import request_follow
        from msp_portal.context_processors import NAV_PROVIDERS

        from . import receivers, scope
        from .navigation import nav_items
        from .services.guard import transition_guard
        from .views import request_panel

        scope.register()
        # The ITSM owns the status of a request it fulfils (transition_guard).
        request_follow(
            app="fulfilment",
            on_submitted=receivers.on_request_submitted,
            on_status_changed=receivers.on_request_status_changed,
            transition_guard=transition_guard,
            request_panel=request_panel,
        )
        if nav_items not in NAV_PROVIDERS:
            NAV_PROVIDERS.append(nav_items)
