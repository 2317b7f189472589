from django.apps import AppConfig


class EntitlementsConfig(AppConfig):
    name = "entitlements"

    def ready(self) -> None:
        from customers.scope import by_customer, requests_rule, requests_rule_at
        from customers.services import REMOVAL_IMPACT_PROVIDERS
        from msp_portal.tenancy import scope_register

        from .models import (
            AudienceRule,
            Marketplace,
            MarketplaceService,
            RequestAnswer,
            ServiceRequest,
        )

        scope_register(Marketplace, by_customer("customer__"))
        scope_register(MarketplaceService, by_customer("marketplace__customer__"))
        scope_register(AudienceRule, by_customer("marketplace__customer__"))
        scope_register(ServiceRequest, requests_rule)
        scope_register(RequestAnswer, requests_rule_at("request__"))

        # The customers list flags a customer without a marketplace.
        from customers.models import Customer
        from customers.selectors import CUSTOMER_LIST_COLUMNS, related_exists_sql

        CUSTOMER_LIST_COLUMNS["has_marketplace"] = lambda: related_exists_sql(
            Marketplace._meta.db_table, f"x.customer_id = {Customer._meta.db_table}.id"
        )
        from msp_portal.context_processors import NAV_PROVIDERS
        from msp_portal.views import HOME_PROVIDERS, HOME_TILES

        from .access import removal_impact_lines
        from .navigation import home_tiles, home_url, nav_items

        for registry, hook in (
            (REMOVAL_IMPACT_PROVIDERS, removal_impact_lines),
            (NAV_PROVIDERS, nav_items),
            (HOME_PROVIDERS, home_url),
            (HOME_TILES, home_tiles),
        ):
            if hook not in registry:
                registry.append(hook)
