"""Virtual marketplaces, their audiences, and the service requests end users make."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


class Marketplace(models.Model):
    """A customer's virtual marketplace: some of its assigned services, for an audience (E1)."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="marketplaces"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "name"],
                name="marketplace_name_once_per_customer",
                violation_error_message="This customer already has a marketplace with that name.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class MarketplaceService(models.Model):
    """A service a marketplace offers, held through the customer's assignment (C3).

    Deleting the assignment deletes this row, so an unassigned service leaves every marketplace
    of the customer at once.
    """

    marketplace = models.ForeignKey(Marketplace, on_delete=models.CASCADE, related_name="offers")
    assignment = models.ForeignKey(
        "customers.CustomerService", on_delete=models.CASCADE, related_name="offers"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["marketplace", "assignment"], name="offer_once")
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} in {self.marketplace}"


class AudienceKind(models.TextChoices):
    EVERYONE = "everyone", "Everyone in the customer"
    USER = "user", "Named user"
    GROUP = "group", "Derived group"
    FILTER = "filter", "Attribute filter"


class AudienceRule(models.Model):
    """One way a person can be in a marketplace's audience; the rules of a marketplace OR together.

    everyone: every end user of the customer; user: one named end user; group: the customer's
    company, optionally narrowed to one organization and then one department; filter: ITSM
    attribute values as in end-user filters (values of one attribute OR, attributes AND).
    """

    marketplace = models.ForeignKey(Marketplace, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=10, choices=AudienceKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    organization = models.CharField(max_length=100, blank=True)
    department = models.CharField(max_length=100, blank=True)
    criteria = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="user") | models.Q(user__isnull=False),
                name="audience_user_rule_names_a_user",
            ),
            models.CheckConstraint(
                condition=models.Q(department="") | ~models.Q(organization=""),
                name="audience_department_needs_organization",
            ),
            models.UniqueConstraint(
                fields=["marketplace", "user"],
                condition=models.Q(kind="user"),
                name="audience_user_once",
                violation_error_message="That person is in this audience already.",
            ),
        ]

    def __str__(self) -> str:
        return self.describe()

    def describe(self, company_name: str = "") -> str:
        """The rule in words, as shown in audiences and in access explanations."""
        if self.kind == AudienceKind.EVERYONE:
            return "Everyone in the customer"
        if self.kind == AudienceKind.USER:
            return f"Named user {self.user.display_name if self.user_id else '?'}"
        if self.kind == AudienceKind.GROUP:
            parts = [company_name or "Company", self.organization, self.department]
            return "Group " + " – ".join(p for p in parts if p)
        pairs = [f"{k.replace('_', ' ')} is {' or '.join(v)}" for k, v in self.criteria.items()]
        return "Filter: " + ("; ".join(pairs) if pairs else "everyone")


class RequestStatus(models.TextChoices):
    """What the requester sees: a request waits for its approvers, is approved (ready to be
    fulfilled; where no approval is needed it is approved at submission), in progress, and ends
    fulfilled, rejected, cancelled or failed."""

    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    APPROVED = "approved", "Approved"
    IN_PROGRESS = "in_progress", "In progress"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


# Which status may follow which; the end states allow nothing more.
REQUEST_TRANSITIONS: dict[str, set[str]] = {
    RequestStatus.AWAITING_APPROVAL: {
        RequestStatus.APPROVED,
        RequestStatus.REJECTED,
        RequestStatus.CANCELLED,
    },
    RequestStatus.APPROVED: {
        RequestStatus.IN_PROGRESS,
        RequestStatus.FULFILLED,
        RequestStatus.CANCELLED,
        RequestStatus.REJECTED,
        RequestStatus.FAILED,
    },
    RequestStatus.IN_PROGRESS: {
        RequestStatus.FULFILLED,
        RequestStatus.CANCELLED,
        RequestStatus.REJECTED,
        RequestStatus.FAILED,
    },
    RequestStatus.FULFILLED: set(),
    RequestStatus.CANCELLED: set(),
    RequestStatus.REJECTED: set(),
    RequestStatus.FAILED: set(),
}

# Still open: waiting for a decision or for the service desk.
OPEN_STATUSES = (RequestStatus.AWAITING_APPROVAL, RequestStatus.APPROVED, RequestStatus.IN_PROGRESS)
# Its requester may still cancel it: nobody has started on it yet.
REQUESTER_MAY_CANCEL = (RequestStatus.AWAITING_APPROVAL, RequestStatus.APPROVED)


class ServiceRequest(models.Model):
    """An end user's request for a service entitled to them; kept whatever happens to access later."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="requests"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_requests"
    )
    # Whom the request is for: the requester, or a colleague of the same customer (R2).
    beneficiary = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requests_for_me"
    )
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.PROTECT, related_name="requests"
    )
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    justification = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=RequestStatus.choices, default=RequestStatus.APPROVED
    )
    status_note = models.TextField(blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The one-time key of the request form that made it, drawn with the page: the same form
    # posted again finds this request instead of making (and debiting) another one.
    submission_key = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-submitted_at", "-id"], name="request_customer_idx"),
            models.Index(
                fields=["requester", "-submitted_at", "-id"], name="request_requester_idx"
            ),
            models.Index(fields=["status", "-submitted_at"], name="request_status_idx"),
            models.Index(
                fields=["beneficiary", "-submitted_at", "-id"], name="request_beneficiary_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="request_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(total__gte=0), name="request_total_not_negative"
            ),
            models.UniqueConstraint(
                fields=["requester", "submission_key"],
                condition=~models.Q(submission_key=""),
                name="request_submitted_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Request #{self.pk}: {self.quantity} × {self.service_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def requester_may_cancel(self) -> bool:
        return self.status in REQUESTER_MAY_CANCEL

    @property
    def is_for_colleague(self) -> bool:
        return self.beneficiary_id != self.requester_id

    @property
    def people_label(self) -> str:
        """Who made the request, and for whom when that is a colleague (notifications name both)."""
        if self.is_for_colleague:
            return f"{self.requester.display_name} for {self.beneficiary.display_name}"
        return self.requester.display_name


class RequestAnswer(models.Model):
    """One answer of a request, kept as it was asked (R1): the question's label and kind at the
    time, the value and the text shown; question_id is a plain number, so editing or deleting the
    service's questions never changes or breaks a request."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="answers")
    position = models.PositiveIntegerField()
    question_id = models.IntegerField(null=True, blank=True)
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=20)
    value = models.JSONField(null=True, blank=True)
    display = models.TextField(blank=True)

    class Meta:
        ordering = ["request", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "position"], name="request_answer_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.display}"
