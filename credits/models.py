"""Credit accounts and their append-only ledger (K1, K2, K4)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone


class CreditAccount(models.Model):
    """A customer's credit balance; it always equals the sum of its ledger entries (K2).

    With the hard limit on, the balance can't go below zero (K4): the debit is refused, and a
    CHECK constraint holds it even against a path that skips the service.
    """

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="credit_account"
    )
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    hard_limit = models.BooleanField(
        "hard limit",
        default=False,
        help_text="Refuse requests the balance can't cover instead of going below zero.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hard_limit=False) | models.Q(balance__gte=0),
                name="credit_hard_limit_keeps_balance_non_negative",
            )
        ]

    def __str__(self) -> str:
        return f"Credits of {self.customer_id}: {self.balance}"


class EntryKind(models.TextChoices):
    GRANT = "grant", "Grant"
    DEBIT = "debit", "Debit"
    REFUND = "refund", "Refund"
    ADJUSTMENT = "adjustment", "Adjustment"


class CreditEntry(models.Model):
    """One change of a balance; never updated or deleted (the database refuses both on PostgreSQL)."""

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="Signed: grants and refunds add, debits take."
    )
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    # The customer a staff member acted as (T2): the ITSM company's name, as long as the mirror
    # holds it, and the entry's only record of it.
    acting_as_label = models.TextField(blank=True)
    reason = models.TextField()
    request_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The service request this entry belongs to, if any."
    )
    idempotency_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="credit_entry_account_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"], name="credit_entry_idempotency_once"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind__in=["grant", "refund"], amount__gt=0)
                    | models.Q(kind="debit", amount__lt=0)
                    | (models.Q(kind="adjustment") & ~models.Q(amount=0))
                ),
                name="credit_entry_amount_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} → {self.balance_after}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("Credit entries are append-only: record an adjustment instead.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Credit entries are append-only: record an adjustment instead.")
