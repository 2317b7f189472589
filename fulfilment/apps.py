from django.apps import AppConfig


class FulfilmentConfig(AppConfig):
    name = "fulfilment"

    def ready(self) -> None:
        from entitlements.models import ServiceRequest
        from entitlements.signals import request_status_changed, request_submitted

        from . import receivers, scope

        scope.register()
        from entitlements.views_portal import REQUEST_PANELS
        from msp_portal.context_processors import NAV_PROVIDERS

        from .navigation import nav_items
        from .views import request_panel

        if request_panel not in REQUEST_PANELS:
            REQUEST_PANELS.append(request_panel)
        if nav_items not in NAV_PROVIDERS:
            NAV_PROVIDERS.append(nav_items)
        request_submitted.connect(
            receivers.on_request_submitted, sender=ServiceRequest, dispatch_uid="fulfilment.submit"
        )
        request_status_changed.connect(
            receivers.on_request_status_changed,
            sender=ServiceRequest,
            dispatch_uid="fulfilment.status",
        )
