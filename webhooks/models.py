"""Webhook endpoints and the outbox of their deliveries (A2)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Event(models.TextChoices):
    """What an endpoint can subscribe to; the value is the payload's `type`."""

    REQUEST_CREATED = "request.created", "Request created"
    REQUEST_STATUS_CHANGED = "request.status_changed", "Request status changed"
    APPROVAL_WAITING = "approval.waiting", "Approval waiting"
    REQUEST_NOTE_ADDED = "request.note_added", "Public note added to a request"
    CREDITS_LOW_BALANCE = "credits.low_balance", "Balance below the alert threshold"
    CREDITS_BELOW_ZERO = "credits.below_zero", "Balance below zero"
    SYNC_RUN_FINISHED = "sync_run.finished", "ITSM sync run finished"


# A sync run belongs to no customer: only catalog-wide endpoints may hear of it.
CATALOG_WIDE_ONLY = frozenset({Event.SYNC_RUN_FINISHED})


class WebhookEndpoint(models.Model):
    """A receiver's address and the events it gets; a customer's endpoint only ever gets that
    customer's events, a catalog-wide one (no customer) every customer's and the MSP's own."""

    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        help_text="Empty: catalog-wide, every customer's events.",
    )
    url = models.URLField("URL", max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # The Event values chosen (a JSON list: the demo runs on SQLite, which has no arrays).
    events = models.JSONField(default=list)
    # The Standard Webhooks secret, `whsec_` and base64; kept readable because signing needs it.
    secret = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "active"], name="webhook_endpoint_cust_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(url__startswith="https://")
                | models.Q(url__startswith="http://"),
                name="webhook_endpoint_url_is_http",
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class WebhookDelivery(models.Model):
    """One event for one endpoint, written in the transaction of the change it tells of (the
    outbox); sent by the `webhooks.deliver` task after commit, claimed by a conditional UPDATE
    so a delivered message is never sent again by a retry."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40, choices=Event.choices)
    # The Standard Webhooks `webhook-id`: the same on every attempt, so receivers can dedupe.
    msg_id = models.CharField("message id", max_length=64, unique=True)
    payload = models.JSONField()
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_log_idx"
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="webhook_delivery_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id} ({self.status})"
