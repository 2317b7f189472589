"""Webhook use cases (A2): endpoints (add, change, remove, reveal and rotate the secret), the
outbox of events, and the delivery of each message with retries and backoff.

An event is written as one WebhookDelivery row per subscribed endpoint in the transaction of the
change it tells of, and its send is enqueued for after the commit: a rolled-back change leaves
no row and sends nothing. A send first claims its row with a conditional UPDATE (pending and
due → sending) that must touch exactly one row, so two workers, a redelivered task or a sweep
never send one message twice; a delivered row is never claimed again except by Resend.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import secrets
import socket
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.models import User
from customers.models import Customer
from customers.scope import may_manage
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed
from msp_portal.outbox import enqueue_on_commit
from msp_portal.tenancy import CHANGE, visible_to

from .models import CATALOG_WIDE_ONLY, DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from .scope import may_manage_all

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
USER_AGENT = "MSP-Portal-Webhooks/1.0"
URL_HELP = (
    "Give the full address of your receiver, starting with https://, for example "
    "https://hooks.example.com/msp-portal."
)


# ---------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------


def secret_new() -> str:
    """A fresh Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def url_clean(url: str) -> str:
    """The receiver's address, checked: http or https, a host, no credentials, no fragment."""
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": "Enter the address of your receiver. " + URL_HELP})
    if len(url) > WebhookEndpoint._meta.get_field("url").max_length:
        raise ValidationError({"url": "This address is too long (2,000 characters at most)."})
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValidationError({"url": "This is not a web address. " + URL_HELP}) from None
    if parts.scheme.lower() not in ("http", "https"):
        hint = (
            f" Did you mean https://{url}?"
            if "://" not in url and not parts.scheme
            else " For example https://hooks.example.com/msp-portal."
        )
        raise ValidationError(
            {
                "url": "Deliveries are POSTed over the web: the address must start with "
                "https:// (or http://)." + hint
            }
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            {
                "url": "Leave the user name and password out of the address: your receiver checks "
                "each delivery's signature instead (see the secret below)."
            }
        )
    if parts.fragment:
        raise ValidationError(
            {"url": "Remove the part from # on: it is never sent to your receiver."}
        )
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError({"url": "This is not a valid web address. " + URL_HELP}) from None
    host = (parts.hostname or "").rstrip(".").lower()
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES and (
        host == "localhost" or host.endswith(".localhost") or (literal and not literal.is_global)
    ):
        raise ValidationError({"url": PRIVATE_REFUSED.format(host=host)})
    return url


PRIVATE_REFUSED = (
    "{host} is a local or private address, which deliveries never go to: give your receiver's "
    "public address (your operator can allow private ones with WEBHOOK_ALLOW_PRIVATE_ADDRESSES)."
)


def address_refusal(url: str) -> str:
    """Why a delivery may not go to url's host now (it resolves to a local, private or reserved
    address, which would let an endpoint reach inside the MSP's network), or "" when it may."""
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return f"The host name {host} does not resolve: check the address (it is tried again)."
    for info in found:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            return PRIVATE_REFUSED.format(host=f"{host} ({address})")
    return ""


def events_clean(events: Iterable[str], *, customer: Customer | None) -> list[str]:
    """The chosen events, known ones only, in the order of Event; at least one."""
    chosen = set(events or [])
    unknown = chosen - set(Event.values)
    if unknown:
        raise ValidationError({"events": "Choose events from the list only."})
    if not chosen:
        raise ValidationError({"events": "Choose at least one event to send to this endpoint."})
    if customer is not None and chosen & CATALOG_WIDE_ONLY:
        names = ", ".join(Event(e).label for e in sorted(chosen & CATALOG_WIDE_ONLY))
        raise ValidationError(
            {
                "events": f"{names} belongs to no customer: choose it on a catalog-wide endpoint "
                "(no customer), or leave it out."
            }
        )
    return [e for e in Event.values if e in chosen]


def _require_manage(actor: User, customer: Customer | None) -> None:
    if customer is None:
        if not may_manage_all(actor):
            raise NotAllowed(
                "Only catalog administrators manage catalog-wide endpoints: choose your customer."
            )
    elif not may_manage(actor, customer):
        raise NotAllowed("You can manage the webhooks of your own customer only.")


def _in_scope(actor: User, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """The endpoint again, locked, if actor may change it (a crafted POST can't cross customers)."""
    found = (
        visible_to(actor, WebhookEndpoint, CHANGE)
        .select_for_update()
        .filter(pk=endpoint.pk)
        .first()
    )
    if found is None:
        raise NotAllowed("You can manage the webhooks of your own customer only.")
    return found


def _summary(endpoint: WebhookEndpoint) -> dict:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "customer": endpoint.customer_id,
        "active": endpoint.active,
    }


def webhook_endpoint_add(
    *,
    actor: User,
    customer: Customer | None,
    url: str,
    events: Iterable[str],
    description: str = "",
) -> WebhookEndpoint:
    """Register an endpoint for a customer (or catalog-wide, for catalog administrators) with a
    new signing secret."""
    _require_manage(actor, customer)
    endpoint = WebhookEndpoint(
        customer=customer,
        url=url_clean(url),
        description=(description or "").strip(),
        events=events_clean(events, customer=customer),
        secret=secret_new(),
        created_by=actor,
    )
    endpoint.full_clean()
    with transaction.atomic():
        endpoint.save()
        audit_record(
            actor=actor,
            action="webhooks.endpoint_added",
            obj=endpoint,
            after=_summary(endpoint),
            message=f"Webhook endpoint {endpoint.url} added.",
        )
    return endpoint


def webhook_endpoint_change(
    *,
    actor: User,
    endpoint: WebhookEndpoint,
    url: str,
    events: Iterable[str],
    description: str = "",
    active: bool = True,
) -> WebhookEndpoint:
    """Change an endpoint's address, events, description or whether it is sent to."""
    with transaction.atomic():
        endpoint = _in_scope(actor, endpoint)
        before = _summary(endpoint)
        endpoint.url = url_clean(url)
        endpoint.events = events_clean(events, customer=endpoint.customer)
        endpoint.description = (description or "").strip()
        endpoint.active = bool(active)
        endpoint.updated_at = timezone.now()
        endpoint.full_clean()
        endpoint.save()
        audit_record(
            actor=actor,
            action="webhooks.endpoint_changed",
            obj=endpoint,
            before=before,
            after=_summary(endpoint),
            message=f"Webhook endpoint {endpoint.url} changed.",
        )
    return endpoint


def webhook_endpoint_remove(*, actor: User, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery log; nothing more is sent to it."""
    with transaction.atomic():
        endpoint = _in_scope(actor, endpoint)
        audit_record(
            actor=actor,
            action="webhooks.endpoint_removed",
            obj=endpoint,
            before=_summary(endpoint),
            message=f"Webhook endpoint {endpoint.url} removed.",
        )
        endpoint.delete()


def webhook_secret_rotate(*, actor: User, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Give an endpoint a new secret; every delivery from now on is signed with it."""
    with transaction.atomic():
        endpoint = _in_scope(actor, endpoint)
        endpoint.secret = secret_new()
        endpoint.updated_at = timezone.now()
        endpoint.save(update_fields=["secret", "updated_at"])
        audit_record(
            actor=actor,
            action="webhooks.secret_rotated",
            obj=endpoint,
            message=f"Signing secret of webhook endpoint {endpoint.url} replaced.",
        )
    return endpoint


def webhook_secret_reveal(*, actor: User, endpoint: WebhookEndpoint) -> str:
    """The endpoint's secret, for someone who may manage it; each look is audited."""
    with transaction.atomic():
        endpoint = _in_scope(actor, endpoint)
        audit_record(
            actor=actor,
            action="webhooks.secret_revealed",
            obj=endpoint,
            message=f"Signing secret of webhook endpoint {endpoint.url} shown.",
        )
    return endpoint.secret


# ---------------------------------------------------------------------------------------------
# The outbox
# ---------------------------------------------------------------------------------------------


def _msg_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def event_record(
    *,
    event: str,
    customer_id: int | None,
    data: Callable[[], dict] | dict,
    occurred_at: datetime | None = None,
) -> list[WebhookDelivery]:
    """Write one delivery per active endpoint subscribed to event, in the current transaction:
    catalog-wide endpoints get every event, a customer's endpoint only that customer's (and no
    event without a customer); each is sent once the transaction commits."""
    from . import tasks

    endpoints = WebhookEndpoint.objects.filter(active=True)
    if customer_id is None:
        endpoints = endpoints.filter(customer__isnull=True)
    else:
        endpoints = endpoints.filter(Q(customer__isnull=True) | Q(customer_id=customer_id))
    matching = [e for e in endpoints.only("id", "events") if event in e.events]
    if not matching:
        return []
    at = occurred_at or timezone.now()
    body = {
        "type": event,
        "timestamp": at.isoformat(),
        "data": data() if callable(data) else data,
    }
    # One encoding for every endpoint: Decimals, dates and lazy strings become JSON values.
    payload = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint_id=endpoint.pk,
            event_type=event,
            msg_id=_msg_id(),
            payload=payload,
            next_attempt_at=at,
            created_at=at,
        )
        for endpoint in matching
    )
    for delivery in deliveries:
        enqueue_on_commit(tasks.deliver, delivery.pk)
    return deliveries


# ---------------------------------------------------------------------------------------------
# Delivery
# ---------------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """The wait before the next attempt after `attempts` failed ones: doubling from the base."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    return timedelta(
        seconds=min(base * 2 ** max(attempts - 1, 0), settings.WEBHOOK_RETRY_MAX_SECONDS)
    )


def signed_request(
    delivery: WebhookDelivery, *, secret: str, sent_at: datetime
) -> tuple[bytes, dict]:
    """The body and headers of one attempt, signed by the Standard Webhooks scheme."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    signature = Webhook(secret).sign(msg_id=delivery.msg_id, timestamp=sent_at, data=body)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode(), headers


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    """POST once; (status code, error for people), the error empty on a 2xx answer."""
    try:
        response = httpx.post(
            url,
            content=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        return None, (
            f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s: make the receiver answer "
            "at once (2xx) and do its work afterwards."
        )
    except httpx.HTTPError as exc:
        return None, f"Could not reach the receiver ({type(exc).__name__}: {exc})."
    code = response.status_code
    if 200 <= code < 300:
        return code, ""
    if 300 <= code < 400:
        where = response.headers.get("location", "")
        return code, (
            f"The receiver answered {code} (a redirect{' to ' + where if where else ''}): "
            "deliveries don't follow redirects, so give the final address."
        )
    text = response.text[:200].strip()
    return code, f"The receiver answered {code} {response.reason_phrase}" + (
        f": {text}" if text else "."
    )


def delivery_attempt(*, delivery_id: int) -> str:
    """Send one delivery if it is waiting and due; returns "delivered", "retry", "failed" or
    "skipped" (claimed by another worker, delivered already, or not due yet)."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, last_attempt_at=now)
    if claimed != 1:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.active:
        code, error = None, "The endpoint is switched off: switch it on, then press Resend."
        final = True
    else:
        body, headers = signed_request(delivery, secret=endpoint.secret, sent_at=datetime.now(UTC))
        code, error = None, address_refusal(endpoint.url)
        if not error:
            code, error = _post(endpoint.url, body, headers)
        final = delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    done = timezone.now()
    mine = WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING)
    if not error:
        mine.update(
            status=DeliveryStatus.DELIVERED, delivered_at=done, last_status_code=code, last_error=""
        )
        return "delivered"
    if final:
        mine.update(status=DeliveryStatus.FAILED, last_status_code=code, last_error=error)
        return "failed"
    mine.update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=done + retry_delay(delivery.attempts),
        last_status_code=code,
        last_error=error,
    )
    return "retry"


def deliveries_sweep(*, limit: int = 1000) -> int:
    """Enqueue the deliveries whose retry is due (or whose send was lost), oldest first; an
    attempt cut off by a stopped worker is made due again. Returns how many were enqueued."""
    from . import tasks

    now = timezone.now()
    WebhookDelivery.objects.filter(
        status=DeliveryStatus.SENDING,
        last_attempt_at__lt=now - timedelta(seconds=settings.WEBHOOK_STALE_SENDING_SECONDS),
    ).update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        last_error="The attempt was cut off (the worker stopped); it is sent again.",
    )
    # A fresh row's own task is still queued: leave it the grace period before sending another.
    due = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now - timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS),
    ).order_by("next_attempt_at", "id")
    ids = list(due.values_list("pk", flat=True)[:limit])
    for pk in ids:
        enqueue_on_commit(tasks.deliver, pk)
    deliveries_forget(limit=limit * 10)
    return len(ids)


def deliveries_forget(*, limit: int = 10_000) -> int:
    """Drop the log's finished deliveries (delivered or given up) older than WEBHOOK_LOG_DAYS,
    oldest first, at most limit at a time; waiting ones are kept whatever their age."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_LOG_DAYS)
    old = WebhookDelivery.objects.filter(
        status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED], created_at__lt=cutoff
    ).order_by("created_at", "id")
    deleted, _ = WebhookDelivery.objects.filter(
        pk__in=list(old.values_list("pk", flat=True)[:limit])
    ).delete()
    return deleted


def webhook_delivery_resend(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again with the same message id (receivers may dedupe on it), whatever
    came of it before; a delivery being sent right now is left to finish."""
    with transaction.atomic():
        found = (
            visible_to(actor, WebhookDelivery, CHANGE)
            .select_related("endpoint")
            .filter(pk=delivery.pk)
            .first()
        )
        if found is None:
            raise NotAllowed("You can manage the webhooks of your own customer only.")
        if not found.endpoint.active:
            raise DomainError("The endpoint is switched off: switch it on first, then resend.")
        now = timezone.now()
        reset = (
            WebhookDelivery.objects.filter(pk=found.pk)
            .exclude(status=DeliveryStatus.SENDING)
            .update(
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                delivered_at=None,
                last_error="",
                last_status_code=None,
            )
        )
        if reset != 1:
            raise DomainError(
                "This delivery is being sent right now: wait a moment, then resend it if it fails."
            )
        audit_record(
            actor=actor,
            action="webhooks.delivery_resent",
            obj=found,
            message=f"Webhook {found.event_type} {found.msg_id} sent again to {found.endpoint.url}.",
        )
        from . import tasks

        enqueue_on_commit(tasks.deliver, found.pk)
    found.refresh_from_db()
    return found


# Longer waits are left to the sweep: a worker holds a countdown task in memory, and Redis hands
# one still unacknowledged after its visibility timeout to another worker.
RETRY_COUNTDOWN_MAX = 300


def retry_schedule(*, delivery_id: int) -> None:
    """Enqueue a delivery's next attempt for when it is due (short waits only; the sweep sends
    the others, and those the broker refused, once due)."""
    from msp_portal.outbox import BROKER_ERRORS

    from . import tasks

    due = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if due is None:
        return
    countdown = max((due - timezone.now()).total_seconds(), 0)
    if countdown > RETRY_COUNTDOWN_MAX:
        return  # the sweep sends it when due
    try:
        tasks.deliver.apply_async(args=[delivery_id], countdown=countdown)
    except BROKER_ERRORS:
        logger.warning("Broker unreachable: delivery %s is retried by the sweep", delivery_id)
