from django.apps import AppConfig


class EntitlementsConfig(AppConfig):
    name = "entitlements"

    def ready(self) -> None:
        from customers.services import REMOVAL_IMPACT_PROVIDERS
        from msp_portal.context_processors import NAV_PROVIDERS
        from msp_portal.views import HOME_PROVIDERS

        from .access import removal_impact_lines
        from .navigation import home_url, nav_items

        for registry, hook in (
            (REMOVAL_IMPACT_PROVIDERS, removal_impact_lines),
            (NAV_PROVIDERS, nav_items),
            (HOME_PROVIDERS, home_url),
        ):
            if hook not in registry:
                registry.append(hook)
