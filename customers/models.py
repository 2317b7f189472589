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


class Customer(models.Model):
    """An ITSM company served as a customer of the MSP; exists only in MSP mode (C1, M5)."""

    company = models.OneToOneField(
        "itsm_sync.Company", on_delete=models.PROTECT, related_name="customer"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    credit_management = models.BooleanField(
        "Credit Management", default=False, help_text="Requests draw on a credit balance."
    )
    alert_threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Alert the administrators when the balance drops below this. Empty: no alert.",
    )
    needs_administrator = models.BooleanField(
        default=False,
        help_text="ITSM took away the last administrator; name a new one.",
    )

    class Meta:
        ordering = ["company__name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(alert_threshold__isnull=True) | models.Q(alert_threshold__gte=0),
                name="customer_alert_threshold_not_negative",
                violation_error_message="The alert threshold can't be negative.",
            ),
        ]

    def __str__(self) -> str:
        return self.company.name


class CustomerService(models.Model):
    """A catalog service assigned to a customer: the only services its administrators can entitle (C3)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="assignments")
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.PROTECT, related_name="assignments"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["service__name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "service"], name="customer_service_once")
        ]

    def __str__(self) -> str:
        return f"{self.service} for {self.customer}"


class CustomerAdministratorQuerySet(models.QuerySet):
    def active(self) -> "CustomerAdministratorQuerySet":
        """Administrators who can sign in: the only ones that count for C2, everywhere."""
        return self.filter(user__is_active=True)


class CustomerAdministrator(models.Model):
    """A person of the customer's company who administers it (C2: at least one active per customer)."""

    # SQL form of CustomerAdministratorQuerySet.active() for the customers list's counts.
    ACTIVE_SQL = "x.user_id IN (SELECT u.id FROM {users} u WHERE u.is_active)"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="administrators")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="administered_customers"
    )
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CustomerAdministratorQuerySet.as_manager()

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "user"], name="customer_admin_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} administers {self.customer}"


FILTER_ATTRIBUTES = [
    ("organization", "Organization"),
    ("department", "Department"),
    ("region", "Region"),
    ("site_group", "Site group"),
    ("site", "Site"),
    ("client_type", "Client type"),
]


class EndUserFilter(models.Model):
    """One rule bringing in end users: the customer's company, narrowed by ITSM attributes (C4).

    `criteria` maps an attribute of FILTER_ATTRIBUTES to the values it accepts: several values
    of one attribute OR together, different attributes AND together, and the customer's filters
    OR with each other. An empty criteria brings in everyone Enabled in the company.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="user_filters")
    name = models.CharField(max_length=120)
    criteria = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "name"], name="end_user_filter_name_once")
        ]

    def __str__(self) -> str:
        return self.name


class EndUserRefusal(models.Model):
    """A person the customer's end-user filters bring in who can't have a portal account, and why
    (C4): shown on the customer's end-user page until an apply gives them one or they stop
    matching. ITSM holds the fix (an invalid Remedy Login ID, a login taken by another account)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="refusals")
    person = models.ForeignKey("itsm_sync.Person", on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    since = models.DateTimeField(default=timezone.now)
    run = models.ForeignKey(
        "itsm_sync.SyncRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The people sync whose filter application first refused them, if any.",
    )

    class Meta:
        ordering = ["customer", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "person"], name="end_user_refusal_once")
        ]

    def __str__(self) -> str:
        return f"{self.person_id} refused for {self.customer_id}"
