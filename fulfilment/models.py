"""How each service is fulfilled in the ITSM, and the tickets the portal pushes there (R4)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class FulfilmentMode(models.TextChoices):
    PORTAL = "portal", "Handled in the portal"
    WORK_ORDER = "work_order", "A work order in the ITSM"
    INCIDENT = "incident", "An incident in the ITSM"


class FulfilmentSettings(models.Model):
    """How requests of one service are fulfilled: in the portal (no row means this), or as a work
    order or incident the portal creates in the customer's company once a request is approved."""

    service = models.OneToOneField(
        "catalog.Service", on_delete=models.CASCADE, related_name="fulfilment"
    )
    mode = models.CharField(
        max_length=12, choices=FulfilmentMode.choices, default=FulfilmentMode.PORTAL
    )
    # Work orders.
    work_order_type = models.CharField(max_length=40, default="General")
    priority = models.CharField(max_length=20, default="Medium")
    template_id = models.CharField("Remedy template id", max_length=60, blank=True)
    summary_pattern = models.CharField(max_length=200, default="{service} for {beneficiary}")
    # [{"question": <the question's label as asked>, "field": N, "label": <label in Remedy>}]:
    # the answer goes into `WO Type Field N`, the label into `WO Type Field N Label`. Every
    # answer is in the description as well.
    field_map = models.JSONField(default=list, blank=True)
    # Incidents.
    impact = models.CharField(max_length=40, default="4-Minor/Localized")
    urgency = models.CharField(max_length=20, default="4-Low")
    service_type = models.CharField(max_length=40, default="User Service Request")
    reported_source = models.CharField(max_length=20, default="Self Service")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "fulfilment settings"

    def __str__(self) -> str:
        return f"{self.service_id}: {self.get_mode_display()}"

    @property
    def in_itsm(self) -> bool:
        return self.mode != FulfilmentMode.PORTAL


class PushState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    WAITING = "waiting", "Waiting to reach the service desk"
    STUCK = "stuck", "Stuck"
    CREATED = "created", "Created"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled before it was sent"


# A push in one of these may be sent (again); a stuck one only once someone retries it.
SENDABLE = (PushState.QUEUED, PushState.SENDING, PushState.WAITING)
# Not at the service desk yet: cancelling the request just stops it.
UNSENT = (*SENDABLE, PushState.STUCK)


class TicketPush(models.Model):
    """The outbox row of one approved request: written in the transaction that approved it, sent
    to the ITSM until the ticket exists, exactly once per request (the unique request, and the
    reference looked up in the ITSM before any retry)."""

    request = models.OneToOneField(
        "entitlements.ServiceRequest", on_delete=models.PROTECT, related_name="ticket"
    )
    mode = models.CharField(max_length=12, choices=FulfilmentMode.choices)
    # The correlation reference written into the ticket (FULFILMENT_REFERENCE_FIELD).
    reference = models.CharField(max_length=60, unique=True)
    state = models.CharField(max_length=10, choices=PushState.choices, default=PushState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker holds the push until then; a worker that died lets go when it passes.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # The interface entry's `Request ID`, the ticket's own entry id, and its number
    # (`WorkOrder_ID` or `Incident Number`).
    interface_id = models.CharField(max_length=40, blank=True)
    ticket_id = models.CharField(max_length=40, blank=True)
    number = models.CharField(max_length=40, blank=True)
    itsm_status = models.CharField(max_length=40, blank=True)
    itsm_status_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    pushed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="push_due_idx"),
            models.Index(fields=["number"], name="push_number_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="created") | ~models.Q(number=""),
                name="push_created_has_number",
            )
        ]

    def __str__(self) -> str:
        return self.number or f"Ticket of request #{self.request_id}"

    @property
    def form_label(self) -> str:
        return "incident" if self.mode == FulfilmentMode.INCIDENT else "work order"


class TicketNote(models.Model):
    """A public note of a ticket (`WOI:WorkInfo` with View Access Public); internal ones are
    never read into the portal."""

    push = models.ForeignKey(TicketPush, on_delete=models.CASCADE, related_name="notes")
    work_info_id = models.CharField(max_length=40, unique=True)
    text = models.TextField()
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["submitted_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class PollCursor(models.Model):
    """Where the reading of one ITSM form's changed tickets goes on (the sync's keyset cursor)."""

    form = models.CharField(max_length=60, unique=True)
    cursor = models.TextField(blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.form
