"""Set-ups for credits, through the services."""

from decimal import Decimal

from credits.services import credit_grant
from customers.services import customer_settings_update


def credit_management_on(*, actor, customer) -> None:
    """Credit Management on for the customer (no alert threshold) and 100 credits granted on a
    purchase order, as a catalog administrator (`actor`) does it."""
    customer_settings_update(
        actor=actor, customer=customer, credit_management=True, alert_threshold=None
    )
    credit_grant(actor=actor, customer=customer, amount=Decimal("100"), reason="PO")
