"""Credit use cases: grants, debits and refunds on an append-only ledger, and alerts (K1–K5).

Every balance change is one conditional UPDATE of the account row (so concurrent debits are
serialised by the database and none is lost) plus one ledger row, in one savepoint: either both
land or neither does. Replaying an idempotency key returns the entry it made the first time.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.models import User
from customers.models import Customer
from customers.services import msp_mode_required_check
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed
from msp_portal.models import Notification
from msp_portal.outbox import enqueue_on_commit
from msp_portal.tenancy import current_acting_as

from .models import CreditAccount, CreditEntry, EntryKind
from .selectors import notification_list
from .signals import balance_line_crossed

CENT = Decimal("0.01")


class InsufficientCredits(DomainError):
    """A debit refused by the hard limit (K4); the message shows the balance."""


@dataclass(frozen=True)
class Crossing:
    """A balance that went below a line: the alert threshold or zero (K5)."""

    line: str  # "threshold" or "zero"
    before: Decimal
    after: Decimal


def account_for(customer: Customer) -> CreditAccount:
    """The customer's credit account, created empty on first use."""
    account, _ = CreditAccount.objects.get_or_create(customer=customer)
    return account


def _label(actor: User | None) -> str:
    return actor.get_username() if actor is not None else "system"


def _apply(
    *, customer: Customer, amount: Decimal, enforce_hard_limit: bool, opened: bool = False
) -> tuple[int, Decimal, Decimal | None] | None:
    """Add amount to the customer's balance in one UPDATE; (account id, balance, threshold).

    None when the hard limit refused it. The UPDATE takes the row lock, so the balance it
    returns is this transaction's own and no concurrent change can slip in between.
    """
    if connection.vendor != "postgresql":
        return _apply_portable(
            customer=customer, amount=amount, enforce_hard_limit=enforce_hard_limit
        )
    limit = "AND (NOT a.hard_limit OR a.balance + %s >= 0)" if enforce_hard_limit else ""
    params = [amount, timezone.now(), customer.pk] + ([amount] if enforce_hard_limit else [])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE credits_creditaccount AS a SET balance = a.balance + %s, updated_at = %s "  # noqa: S608
            f"FROM customers_customer AS c WHERE a.customer_id = %s AND c.id = a.customer_id {limit} "
            "RETURNING a.id, a.balance, c.alert_threshold",
            params,
        )
        row = cursor.fetchone()
    if row is None and not opened:
        # No account yet, or one another transaction was opening: get_or_create waits for it.
        account_for(customer)
        return _apply(
            customer=customer, amount=amount, enforce_hard_limit=enforce_hard_limit, opened=True
        )
    if row is None:
        return None
    return row[0], Decimal(row[1]), None if row[2] is None else Decimal(row[2])


def _apply_portable(
    *, customer: Customer, amount: Decimal, enforce_hard_limit: bool
) -> tuple[int, Decimal, Decimal | None] | None:
    """_apply for SQLite (the demo), where writes are serialised anyway."""
    account = account_for(customer)
    accounts = CreditAccount.objects.filter(pk=account.pk)
    if enforce_hard_limit:
        accounts = accounts.filter(Q(hard_limit=False) | Q(balance__gte=-amount))
    if not accounts.update(balance=F("balance") + amount, updated_at=timezone.now()):
        return None
    balance = CreditAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
    threshold = Customer.objects.values_list("alert_threshold", flat=True).get(pk=customer.pk)
    return account.pk, balance, threshold


def _record(
    *,
    customer: Customer,
    kind: str,
    amount: Decimal,
    actor: User | None,
    reason: str,
    idempotency_key: str,
    request_id: int | None = None,
    enforce_hard_limit: bool = False,
    new_key: bool = False,
) -> tuple[CreditEntry, bool]:
    """Apply one signed amount to a balance and append its ledger row; (entry, created).

    A replayed idempotency key hits the ledger's unique constraint, which rolls the balance
    change back with it, and returns the entry the key made the first time. new_key says the
    key can't have been used (a request's debit, made in the transaction that makes the request):
    there is no replay to catch, so no savepoint is taken, and any failure fails the caller's
    whole transaction (two statements fewer per submission).
    """
    amount = Decimal(amount).quantize(CENT)
    acting_as = current_acting_as()
    try:
        with transaction.atomic(savepoint=not new_key):
            applied = _apply(
                customer=customer, amount=amount, enforce_hard_limit=enforce_hard_limit
            )
            if applied is None:
                current = CreditAccount.objects.get(customer=customer).balance
                raise InsufficientCredits(
                    f"{customer} has {current:.2f} credits, and this needs {-amount:.2f}. The "
                    "hard limit keeps the balance from going below zero: ask your catalog "
                    "administrator for more credits."
                )
            account_id, balance, threshold = applied
            entry = CreditEntry.objects.create(
                account_id=account_id,
                kind=kind,
                amount=amount,
                balance_after=balance,
                actor=actor,
                actor_label=_label(actor),
                acting_as_label=acting_as.label if acting_as else "",
                reason=reason,
                request_id=request_id,
                idempotency_key=idempotency_key,
            )
            _announce_crossings(customer=customer, entry=entry, threshold=threshold)
    except IntegrityError:
        if new_key:
            raise
        existing = CreditEntry.objects.filter(
            account__customer=customer, idempotency_key=idempotency_key
        ).first()
        if existing is None:
            raise
        return existing, False
    _after_change(customer=customer, entry=entry, threshold=threshold)
    return entry, True


def crossings(*, before: Decimal, after: Decimal, threshold: Decimal | None) -> list[Crossing]:
    """The lines a change of balance crossed downwards: once per crossing, re-armed on recovery."""
    found = []
    if threshold is not None and before >= threshold > after:
        found.append(Crossing("threshold", before, after))
    if before >= 0 > after:
        found.append(Crossing("zero", before, after))
    return found


def _after_change(*, customer: Customer, entry: CreditEntry, threshold: Decimal | None) -> None:
    from . import tasks

    before = entry.balance_after - entry.amount
    for crossing in crossings(before=before, after=entry.balance_after, threshold=threshold):
        enqueue_on_commit(tasks.send_balance_alert, entry.pk, crossing.line)


def _announce_crossings(
    *, customer: Customer, entry: CreditEntry, threshold: Decimal | None
) -> None:
    """Tell receivers (webhooks) of each line crossed, inside the change's own transaction."""
    before = entry.balance_after - entry.amount
    for crossing in crossings(before=before, after=entry.balance_after, threshold=threshold):
        balance_line_crossed.send(
            sender=CreditEntry,
            entry=entry,
            customer=customer,
            line=crossing.line,
            threshold=threshold,
        )


def _require_staff(actor: User | None) -> None:
    if actor is not None and not actor.has_perm("customers.change_customer"):
        raise NotAllowed("Only catalog administrators can grant or adjust credits.")


def _require_management(customer: Customer) -> None:
    msp_mode_required_check()
    customer.refresh_from_db(fields=["credit_management", "alert_threshold"])
    if not customer.credit_management:
        raise DomainError(
            f"Credit Management is off for {customer}. Switch it on in the customer's settings first."
        )


@transaction.atomic
def credit_grant(
    *,
    actor: User | None,
    customer: Customer,
    amount: Decimal,
    reason: str,
    idempotency_key: str = "",
) -> CreditEntry:
    """Add credits to a customer's balance (K1); audited."""
    _require_staff(actor)
    _require_management(customer)
    amount = Decimal(amount)
    if amount <= 0:
        raise DomainError(
            "Grant a positive number of credits; to take credits away, record an adjustment."
        )
    if not reason.strip():
        raise DomainError("Say why the credits are granted (for example the purchase order).")
    return _staff_entry(
        EntryKind.GRANT,
        action="credits.grant",
        actor=actor,
        customer=customer,
        amount=amount,
        reason=reason,
        key=idempotency_key,
    )


@transaction.atomic
def credit_adjust(
    *,
    actor: User | None,
    customer: Customer,
    amount: Decimal,
    reason: str,
    idempotency_key: str = "",
) -> CreditEntry:
    """Correct a balance up or down with a reason (K2); may go below zero unless the hard limit is on."""
    _require_staff(actor)
    _require_management(customer)
    amount = Decimal(amount)
    if amount == 0:
        raise DomainError(
            "An adjustment of 0 changes nothing; enter a positive or negative amount."
        )
    if not reason.strip():
        raise DomainError("Say why the balance is adjusted.")
    return _staff_entry(
        EntryKind.ADJUSTMENT,
        action="credits.adjust",
        actor=actor,
        customer=customer,
        amount=amount,
        reason=reason,
        key=idempotency_key,
    )


def _staff_entry(
    kind: EntryKind,
    *,
    action: str,
    actor: User | None,
    customer: Customer,
    amount: Decimal,
    reason: str,
    key: str,
) -> CreditEntry:
    """A grant or adjustment checked by its service: recorded once per key, and audited."""
    entry, created = _record(
        customer=customer,
        kind=kind,
        amount=amount,
        actor=actor,
        reason=reason.strip(),
        idempotency_key=key or f"{kind}:{timezone.now().isoformat()}:{_label(actor)}",
        # A grant only adds; an adjustment that takes credits away meets the hard limit (K4).
        enforce_hard_limit=amount < 0,
    )
    if created:
        audit_record(
            actor=actor,
            action=action,
            obj=customer,
            after={"amount": str(entry.amount), "balance": str(entry.balance_after)},
            message=reason,
        )
    return entry


def credit_debit(
    *,
    actor: User | None,
    customer: Customer,
    amount: Decimal,
    reason: str,
    idempotency_key: str,
    request_id: int | None = None,
    new_key: bool = False,
) -> CreditEntry:
    """Take credits for a request (K3); refused with the balance when the hard limit is on (K4).

    new_key: the caller's transaction made the key's request, so the key can't be a replay
    (see _record)."""
    return _request_entry(
        EntryKind.DEBIT,
        actor=actor,
        customer=customer,
        amount=amount,
        reason=reason,
        idempotency_key=idempotency_key,
        request_id=request_id,
        new_key=new_key,
    )


def credit_refund(
    *,
    actor: User | None,
    customer: Customer,
    amount: Decimal,
    reason: str,
    idempotency_key: str,
    request_id: int | None = None,
) -> CreditEntry:
    """Give back a request's credits, exactly once per idempotency key (K3)."""
    return _request_entry(
        EntryKind.REFUND,
        actor=actor,
        customer=customer,
        amount=amount,
        reason=reason,
        idempotency_key=idempotency_key,
        request_id=request_id,
    )


def _request_entry(kind: EntryKind, *, amount: Decimal, **fields) -> CreditEntry:
    """A request's debit (taken, and refused by the hard limit) or refund (given back)."""
    amount = Decimal(amount)
    if amount <= 0:
        raise DomainError(f"A {kind.label.lower()} must be a positive amount.")
    debit = kind == EntryKind.DEBIT
    entry, _created = _record(
        kind=kind, amount=-amount if debit else amount, enforce_hard_limit=debit, **fields
    )
    return entry


@transaction.atomic
def credit_hard_limit_set(
    *, actor: User | None, customer: Customer, hard_limit: bool
) -> CreditAccount:
    """Switch the hard limit on or off; it can't be switched on while the balance is negative."""
    _require_staff(actor)
    _require_management(customer)
    account = CreditAccount.objects.select_for_update().get(pk=account_for(customer).pk)
    if hard_limit and account.balance < 0:
        raise DomainError(
            f"The balance is {account.balance:.2f}: grant credits to bring it to zero or more before "
            "switching the hard limit on."
        )
    before = account.hard_limit
    account.hard_limit = hard_limit
    account.save(update_fields=["hard_limit"])
    audit_record(
        actor=actor,
        action="credits.hard_limit",
        obj=customer,
        before={"hard_limit": before},
        after={"hard_limit": hard_limit},
    )
    return account


@dataclass
class Drift:
    """An account whose balance differs from the sum of its ledger."""

    customer: str
    balance: Decimal
    ledger_sum: Decimal


def credit_reconcile() -> list[Drift]:
    """Check every balance against its ledger sum; any drift is audited and reported (nightly)."""
    drifts = []
    accounts = CreditAccount.objects.select_related("customer__company").annotate(
        ledger=Sum("entries__amount")
    )
    for account in accounts:
        ledger = (account.ledger or Decimal("0")).quantize(CENT)
        if ledger != account.balance:
            drift = Drift(str(account.customer), account.balance, ledger)
            drifts.append(drift)
            audit_record(
                actor=None,
                action="credits.drift",
                obj=account.customer,
                before={"balance": str(account.balance)},
                after={"ledger_sum": str(ledger)},
                message="The balance differs from the sum of the ledger; investigate before granting more.",
            )
    return drifts


# ---------------------------------------------------------------------------------------------
# Notifications (the bell): the reader's own, marked read by the page and the API alike.
# ---------------------------------------------------------------------------------------------


def notification_read(*, user: User, notification: Notification) -> Notification:
    """Mark one of user's own notifications read (already read: left as it was)."""
    if notification.read_at is None:
        now = timezone.now()
        marked = (
            notification_list(user=user, unread_only=True)
            .filter(pk=notification.pk)
            .update(read_at=now)
        )
        if marked:
            notification.read_at = now
    return notification


def notifications_read_all(*, user: User) -> int:
    """Mark all of user's unread notifications read; returns how many."""
    return notification_list(user=user, unread_only=True).update(read_at=timezone.now())
