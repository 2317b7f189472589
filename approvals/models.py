"""The approval steps a request goes through before it is fulfilled (R3), and the signed links
approvers decide from in their e-mail."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class StepKind(models.TextChoices):
    """Who decides a step: any one active administrator of the request's customer, or any one
    MSP catalog administrator."""

    CUSTOMER_ADMIN = "customer_admin", "A customer administrator"
    MSP = "msp", "An MSP catalog administrator"


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    # Never decided: an earlier step rejected the request, or the request was cancelled.
    SKIPPED = "skipped", "Skipped"


DECIDED = (StepStatus.APPROVED, StepStatus.REJECTED)


class ApprovalStep(models.Model):
    """One decision a request needs, in order; the lowest pending step that is waiting is the one
    to decide now, and the request is approved when its last step approves (R3)."""

    request = models.ForeignKey(
        "entitlements.ServiceRequest", on_delete=models.CASCADE, related_name="approval_steps"
    )
    order = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.PENDING)
    # A customer administrator's step that nobody but the requester (or the person the request
    # is for) could decide when it started waiting: the MSP's catalog administrators decide it
    # instead, and go on deciding it even if the customer gains another administrator meanwhile.
    routed_to_msp = models.BooleanField(default=False)
    # Two approvals are two people: set when the step starts waiting if someone other than the
    # approvers of the request's earlier steps can decide it, and then those approvers don't
    # (a customer administrator's step routed to the MSP, then the MSP's own step, would
    # otherwise be approved twice by one catalog administrator). Left unset when nobody else
    # could (the MSP has one catalog administrator), so the request is not stuck.
    earlier_approvers_excluded = models.BooleanField(default=False)
    # When the step became the one to decide (step 2 waits only once step 1 approves).
    waiting_since = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_label = models.CharField(max_length=150, blank=True)
    note = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Reminders sent while it waits (approvals.remind: at most one per interval).
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "order"]
        indexes = [
            models.Index(
                fields=["kind", "waiting_since", "id"],
                condition=models.Q(status="pending", waiting_since__isnull=False),
                name="approval_step_waiting_idx",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["request", "order"], name="approval_step_order_once"),
            models.CheckConstraint(
                condition=~models.Q(status__in=["approved", "rejected"])
                | models.Q(decided_at__isnull=False),
                name="approval_step_decided_when",
            ),
        ]

    def __str__(self) -> str:
        return f"Request #{self.request_id}, step {self.order}: {self.get_status_display()}"

    @property
    def is_waiting(self) -> bool:
        return self.status == StepStatus.PENDING and self.waiting_since is not None


class LinkDecision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class ApprovalLink(models.Model):
    """A pair of e-mailed approve/reject links for one approver and one step: signed, bound to
    both, expiring (APPROVAL_LINK_MAX_AGE_DAYS) and single-use (used_at records the use)."""

    step = models.ForeignKey(ApprovalStep, on_delete=models.CASCADE, related_name="links")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="approval_links"
    )
    # Which mailing made it: 0 when the step started waiting, n for the n-th reminder.
    round = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)
    used_for = models.CharField(max_length=10, choices=LinkDecision.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["step", "approver", "round"], name="approval_link_once_per_mailing"
            )
        ]

    def __str__(self) -> str:
        return f"Link of step {self.step_id} for user {self.approver_id}"
