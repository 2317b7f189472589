"""Operators' credit commands: grant credits to a customer, or print its balance."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from credits import selectors, services
from credits.models import CreditAccount
from customers.models import Customer


class Command(BaseCommand):
    help = (
        'Credits of a customer. `credits grant CUSTOMER AMOUNT --reason "…"` adds credits; '
        "`credits balance CUSTOMER` prints the balance and checks it against the ledger. "
        "CUSTOMER is the customer id or the exact company name."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{grant,balance}")
        grant = actions.add_parser("grant", help="grant credits to a customer")
        grant.add_argument("customer", help="customer id or exact company name")
        grant.add_argument("amount", help="positive number of credits, for example 250 or 12.50")
        grant.add_argument("--reason", default="", help="why (for example the purchase order)")
        grant.add_argument(
            "--actor", default="", help="username of the catalog administrator granting"
        )
        grant.add_argument(
            "--idempotency-key",
            default="",
            help="the same key again grants nothing more (safe to retry a script)",
        )
        balance = actions.add_parser("balance", help="print a customer's balance")
        balance.add_argument("customer", help="customer id or exact company name")

    def handle(self, *args, action: str, customer: str, **options) -> None:
        found = self._customer(customer)
        if action == "grant":
            self._grant(found, **options)
        else:
            self._balance(found)

    def _customer(self, reference: str) -> Customer:
        customer = selectors.customer_for_operator(reference)
        if customer is None:
            raise CommandError(
                f"No customer “{reference}”: give the customer id or the exact company name.",
                returncode=1,
            )
        return customer

    def _grant(
        self, customer: Customer, *, amount: str, reason: str, actor: str, idempotency_key: str, **_
    ) -> None:
        try:
            value = Decimal(amount)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value <= 0:
            raise CommandError(
                f"“{amount}” is not a positive amount of credits: give a number such as 250 or "
                "12.50 (to take credits away, adjust the balance in the portal).",
                returncode=1,
            )
        user = None
        if actor:
            user = User.objects.filter(username=actor, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user “{actor}”.", returncode=1)
        key = f"cli:{idempotency_key}" if idempotency_key else ""
        try:
            entry = services.credit_grant(
                actor=user, customer=customer, amount=value, reason=reason, idempotency_key=key
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=1) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Granted {entry.amount:.2f} credits to {customer}. "
                f"Balance: {entry.balance_after:.2f}."
            )
        )

    def _balance(self, customer: Customer) -> None:
        if not customer.credit_management:
            raise CommandError(
                f"Credit Management is off for {customer}. Switch it on in the customer's settings.",
                returncode=1,
            )
        account = CreditAccount.objects.filter(customer=customer).first()
        if account is None:  # nothing granted yet; reading must not write an account
            account = CreditAccount(customer=customer)
            total, entries = Decimal("0"), 0
        else:
            total, entries = selectors.ledger_total(account=account)
        threshold = (
            f"{customer.alert_threshold:.2f}" if customer.alert_threshold is not None else "none"
        )
        self.stdout.write(f"{customer}: {account.balance:.2f} credits")
        self.stdout.write(
            f"ledger sum {total:.2f} over {entries} entries · alert threshold {threshold} · "
            f"hard limit {'on' if account.hard_limit else 'off'}"
        )
        if total != account.balance:
            raise CommandError(
                f"The balance {account.balance:.2f} differs from the ledger sum {total:.2f}: "
                "investigate before granting more (the nightly reconciliation reports it too).",
                returncode=1,
            )
