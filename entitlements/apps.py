from django.apps import AppConfig


class EntitlementsConfig(AppConfig):
    name = "entitlements"

    def ready(self) -> None:
        from customers.services import REMOVAL_IMPACT_PROVIDERS

        from .access import removal_impact_lines

        if removal_impact_lines not in REMOVAL_IMPACT_PROVIDERS:
            REMOVAL_IMPACT_PROVIDERS.append(removal_impact_lines)
