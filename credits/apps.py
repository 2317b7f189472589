from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"

    def ready(self) -> None:
        from django.db.models import F

        from customers.selectors import CUSTOMER_LIST_COLUMNS

        # The customers list shows each customer's balance (one LEFT JOIN, no query per row).
        CUSTOMER_LIST_COLUMNS["credit_balance"] = lambda: F("credit_account__balance")
