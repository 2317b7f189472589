"""What each event tells its receivers: the `data` of a delivery's payload, JSON values only.

Built only when at least one endpoint is subscribed (services.event_record takes a callable).
"""

from __future__ import annotations

from decimal import Decimal


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def customer_data(customer) -> dict:
    return {"id": customer.pk, "name": str(customer)}


def request_data(request) -> dict:
    """A service request as receivers see it: who, what, how much, and where it stands."""
    data = {
        "id": request.pk,
        "customer": customer_data(request.customer),
        "service": {"id": request.service_id, "name": request.service.name},
        "quantity": request.quantity,
        "total": str(request.total),
        "status": request.status,
        "requester": _username(request.requester),
        "submitted_at": _iso(request.submitted_at),
        "updated_at": _iso(request.updated_at),
    }
    beneficiary = getattr(request, "beneficiary", None)
    if beneficiary is not None:
        data["beneficiary"] = _username(beneficiary)
    return data


def status_change_data(request, *, old_status: str, new_status: str, actor, note: str = "") -> dict:
    return {
        "request": request_data(request),
        "old_status": old_status,
        "new_status": new_status,
        "actor": _username(actor),
        "note": note or "",
    }


def balance_data(*, customer, entry, line: str, threshold: Decimal | None) -> dict:
    return {
        "customer": customer_data(customer),
        "line": line,
        "balance": str(entry.balance_after),
        "previous_balance": str(entry.balance_after - entry.amount),
        "alert_threshold": str(threshold) if threshold is not None else None,
        "entry": {
            "id": entry.pk,
            "kind": entry.kind,
            "amount": str(entry.amount),
            "reason": entry.reason,
            "request_id": entry.request_id,
            "created_at": _iso(entry.created_at),
        },
    }


def sync_run_data(run) -> dict:
    return {
        "run": {
            "id": run.pk,
            "kind": run.kind,
            "mode": run.mode,
            "status": run.status,
            "dry_run": run.dry_run,
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "seen": run.seen,
            "created": run.created,
            "updated": run.updated,
            "deactivated": run.deactivated,
            "rejected": run.rejected,
        }
    }
