from django.apps import AppConfig


class FulfilmentConfig(AppConfig):
    name = "fulfilment"

    def ready(self) -> None:
        from entitlements.models import ServiceRequest
        from entitlements.services import REQUEST_TRANSITION_GUARDS
        from entitlements.signals import request_status_changed, request_submitted

        from . import receivers, scope

        scope.register()
        from entitlements.views_portal import REQUEST_PANELS
        from msp_portal.context_processors import NAV_PROVIDERS

        from .navigation import nav_items
        from .services.guard import transition_guard
        from .views import request_panel

        for registry, hook in (
            (REQUEST_TRANSITION_GUARDS, transition_guard),
            (REQUEST_PANELS, request_panel),
            (NAV_PROVIDERS, nav_items),
        ):
            if hook not in registry:
                registry.append(hook)
        request_submitted.connect(
            receivers.on_request_submitted, sender=ServiceRequest, dispatch_uid="fulfilment.submit"
        )
        request_status_changed.connect(
            receivers.on_request_status_changed,
            sender=ServiceRequest,
            dispatch_uid="fulfilment.status",
        )
