from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"

    def ready(self) -> None:
        from django.db.models import F

        from customers.scope import by_customer
        from customers.selectors import CUSTOMER_LIST_COLUMNS
        from msp_portal.tenancy import scope_register

        from .models import CreditAccount, CreditEntry

        scope_register(CreditAccount, by_customer("customer__"))
        scope_register(CreditEntry, by_customer("account__customer__"))

        # The customers list shows each customer's balance (one LEFT JOIN, no query per row).
        CUSTOMER_LIST_COLUMNS["credit_balance"] = lambda: F("credit_account__balance")

        # The customer page shows the balance, the forecast and Grant.
        from customers.views import CUSTOMER_PANELS

        from .views import customer_panel

        if customer_panel not in CUSTOMER_PANELS:
            CUSTOMER_PANELS.append(customer_panel)

        from msp_portal.views import HOME_TILES

        from .views import home_tiles

        if home_tiles not in HOME_TILES:
            HOME_TILES.append(home_tiles)

        # A customer may be added with an opening grant of credits.
        from customers.services import OPENING_GRANT

        from .services import credit_grant

        if credit_grant not in OPENING_GRANT:
            OPENING_GRANT.append(credit_grant)
