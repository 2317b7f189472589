"""Customers and the way MSP mode is switched on."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class MspModeRequest(models.Model):
    """A SaaS ticket: a system administrator asks the operator to switch MSP mode on (M4)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FULFILLED = "fulfilled", "Fulfilled"
        REFUSED = "refused", "Refused"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    class Meta:
        verbose_name = "MSP mode request"
        ordering = ["-requested_at", "-id"]
        constraints = [
            # At most one open request at a time, so operators never fulfil duplicates.
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="open"), name="one_open_msp_request"
            ),
        ]

    def __str__(self) -> str:
        return f"Ticket #{self.pk} ({self.get_status_display()})"
