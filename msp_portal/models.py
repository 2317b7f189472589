"""The lowest layer's records: the installation, the MSP mode flag and the audit trail."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Installation(models.Model):
    """The one installation record: the release this database was first migrated with."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    installed_release = models.CharField(max_length=40)
    current_release = models.CharField(max_length=40)
    installed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="installation_singleton")
        ]

    def __str__(self) -> str:
        return f"Installed {self.installed_release}, now {self.current_release}"


class ReleaseChange(models.Model):
    """A change of release seen at a later migrate; any row means the install is not fresh (M1)."""

    from_release = models.CharField(max_length=40)
    to_release = models.CharField(max_length=40)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_release} → {self.to_release}"


class MspMode(models.Model):
    """The MSP mode flag: off on a new install; once a customer has been added it stays on (M3)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    enabled = models.BooleanField(default=False)
    enabled_at = models.DateTimeField(null=True, blank=True)
    enabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enabled_by_label = models.CharField(max_length=150, blank=True)
    # Recorded by a trigger on customers_customer (customers migration 0004) and never cleared:
    # from the first customer on, MSP mode stays on for good, even if that customer is removed.
    first_customer_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "MSP mode"
        verbose_name_plural = "MSP mode"
        permissions = [("manage_msp_mode", "Can check readiness and switch MSP mode on")]
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="mspmode_singleton"),
            models.CheckConstraint(
                condition=models.Q(enabled=False) | models.Q(enabled_at__isnull=False),
                name="mspmode_enabled_has_date",
            ),
        ]

    def __str__(self) -> str:
        return "MSP mode"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        # The rest of this request reads the new value (msp_portal.selectors.msp_mode_enabled).
        from .memo import forget_all

        forget_all()


class AuditEvent(models.Model):
    """One change made through the product: who, when, acting as which customer, what, before → after."""

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    acting_as_customer_id = models.PositiveBigIntegerField(null=True, blank=True)
    acting_as_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The trail is read newest first, page by page (keyset on at, id).
            models.Index(fields=["-at", "-id"], name="audit_at_id_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"


class Notification(models.Model):
    """An in-app notification for one person (the bell); e-mail copies are sent alongside."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # What the notification is about, for senders that may run twice (a redelivered task):
    # one notification per user and key.
    key = models.CharField(max_length=100, blank=True, default="")
    # When its e-mail copy went out (keyed notifications: a retry mails only what is unsent).
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at", "-created_at"], name="notification_unread_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], condition=~models.Q(key=""), name="notification_once"
            )
        ]

    def __str__(self) -> str:
        return self.title


class PendingTask(models.Model):
    """A follow-up task the broker could not take when its transaction committed; it waits here
    until `msp_portal.flush_pending_tasks` sends it, and goes once sent."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=1)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task} (kept {self.created_at:%Y-%m-%d %H:%M}, {self.attempts} attempt(s))"
