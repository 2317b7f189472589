"""The ITSM mirror: companies (COM:Company) and people (CTM:People) as the source last said."""

from django.conf import settings
from django.db import models
from django.utils import timezone

# The built-in global company: a real ITSM ships it as "- Global -"; older exports say "Global".
GLOBAL_COMPANY_NAMES = ("- Global -", "Global")


class CompanyType(models.TextChoices):
    CUSTOMER = "Customer"
    OPERATING_COMPANY = "Operating Company"
    SERVICE_PROVIDER = "Service Provider"
    VENDOR = "Vendor"
    SUPPLIER = "Supplier"
    GENERIC_CONTACT = "Generic Contact"
    MANUFACTURER = "Manufacturer"


class RecordStatus(models.TextChoices):
    PROPOSED = "Proposed"
    ENABLED = "Enabled"
    OFFLINE = "Offline"
    OBSOLETE = "Obsolete"
    ARCHIVE = "Archive"
    DELETE = "Delete"


class Company(models.Model):
    """An ITSM company; deactivated (never deleted) when it disappears from the source."""

    entry_id = models.CharField("Company Entry ID", max_length=40, unique=True)
    name = models.CharField("Company", max_length=254, unique=True)
    company_type = models.CharField("Company Type", max_length=40, choices=CompanyType.choices)
    status = models.CharField(max_length=20, choices=RecordStatus.choices)
    abbreviation = models.CharField("Company Abbreviation", max_length=60, blank=True)
    parent_company = models.CharField("Parent Company", max_length=254, blank=True)
    last_modified = models.DateTimeField("Last Modified Date")
    is_active = models.BooleanField(
        "Present in source", default=True, help_text="False once a full sync no longer finds it."
    )
    mirrored_at = models.DateTimeField(default=timezone.now, help_text="Last change applied here.")

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]
        indexes = [
            models.Index(fields=["company_type", "name"], name="company_type_name_idx"),
            models.Index(fields=["last_modified"], name="company_last_modified_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_global(self) -> bool:
        """The built-in global company (under either of its names), which no one belongs to."""
        return self.name in GLOBAL_COMPANY_NAMES


class Person(models.Model):
    """An ITSM person, belonging to exactly one company at a time."""

    person_id = models.CharField("Person ID", max_length=40)
    remedy_login_id = models.CharField("Remedy Login ID", max_length=254, blank=True)
    first_name = models.CharField("First Name", max_length=100, blank=True)
    last_name = models.CharField("Last Name", max_length=100, blank=True)
    email = models.CharField("Internet E-mail", max_length=254, blank=True)
    # No index of its own: person_company_org_idx leads with company_id and serves those reads.
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="people", db_index=False
    )
    organization = models.CharField(max_length=100, blank=True)
    department = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    site_group = models.CharField("Site Group", max_length=100, blank=True)
    site = models.CharField(max_length=100, blank=True)
    client_type = models.CharField("Client Type", max_length=60, blank=True)
    support_staff = models.BooleanField("Support Staff", default=False)
    vip = models.BooleanField("VIP", default=False)
    profile_status = models.CharField("Profile Status", max_length=20, choices=RecordStatus.choices)
    last_modified = models.DateTimeField("Last Modified Date")
    is_active = models.BooleanField(
        "Present in source", default=True, help_text="False once a full sync no longer finds it."
    )
    mirrored_at = models.DateTimeField(default=timezone.now, help_text="Last change applied here.")

    class Meta:
        verbose_name_plural = "people"
        ordering = ["last_name", "first_name", "person_id"]
        # Every index is paid for on each write of the sync (issue 3's write path), so people
        # carry only those a read uses: a plain unique constraint on person_id (unique=True would
        # add a LIKE-pattern index that no lookup reads), no lone company_id index, and no
        # last_modified index (watermarks come from the source, never from the mirror).
        constraints = [models.UniqueConstraint(fields=["person_id"], name="person_person_id_uniq")]
        indexes = [
            models.Index(
                fields=["company", "organization", "department"], name="person_company_org_idx"
            ),
            models.Index(fields=["last_name", "first_name", "id"], name="person_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.person_id})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.person_id

    @property
    def is_enabled(self) -> bool:
        return self.is_active and self.profile_status == RecordStatus.ENABLED


# ---------------------------------------------------------------------------------------------
# Sync runs: what each sync read, changed (or would change) and how it ended (S1–S3).
# ---------------------------------------------------------------------------------------------


class SyncKind(models.TextChoices):
    COMPANIES = "companies", "Companies"
    PEOPLE = "people", "People"


class SyncMode(models.TextChoices):
    INCREMENTAL = "incremental", "Incremental"
    FULL = "full", "Full reconcile"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    NEEDS_APPROVAL = "needs_approval", "Needs approval"


class SyncRun(models.Model):
    """One sync of companies or people: what it read, what it changed (or would), how it ended.

    succeeded: every page was applied (rejected records are counted, not fatal); partial: the run
    stopped after committing some pages, which stay applied; failed: nothing was applied;
    needs_approval: a full reconcile would deactivate more than the S3 limit, so it changed
    nothing and keeps its plan for approval. A dry run writes only its plan, and its created,
    updated and deactivated counters stay 0 (the plan counts are in planned_*).
    """

    kind = models.CharField(max_length=20, choices=SyncKind.choices)
    mode = models.CharField(max_length=20, choices=SyncMode.choices, default=SyncMode.INCREMENTAL)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=SyncStatus.choices, default=SyncStatus.RUNNING, db_index=True
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by_label = models.CharField(max_length=150, blank=True)
    source_label = models.CharField("Source", max_length=300, blank=True)
    since = models.DateTimeField(
        null=True, blank=True, help_text="Watermark an incremental run read from (before overlap)."
    )
    source_watermark = models.DateTimeField(
        null=True, blank=True, help_text="Latest Last Modified Date read by this run."
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration = models.DurationField(null=True, blank=True)
    rows_per_s = models.FloatField("Rows/s", null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    seen = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    deactivated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    planned_creates = models.PositiveIntegerField(default=0)
    planned_updates = models.PositiveIntegerField(default=0)
    planned_deactivations = models.PositiveIntegerField(default=0)
    active_before = models.PositiveIntegerField(
        null=True, blank=True, help_text="Active records in the mirror when a full run planned."
    )
    deactivation_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="S3: the most a full run may deactivate unapproved."
    )
    message = models.TextField(blank=True)
    error = models.TextField(blank=True)
    error_transient = models.BooleanField(
        default=False, help_text="The error may pass by itself (timeout, 5xx); a retry may help."
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by_label = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    # A full run read through Celery goes in steps, one task each (DESIGN §4: no task may outlive
    # the broker's visibility timeout); between two steps it stays running, paused.
    listed = models.PositiveIntegerField(
        default=0, help_text="Records read from the source's listing so far."
    )
    listed_to = models.TextField(
        blank=True,
        help_text="The source's cursor after the last committed page: where the next step reads on.",
    )
    steps = models.PositiveIntegerField(default=1)
    phase = models.CharField(
        max_length=20,
        default="reading",
        help_text="reading: the listing, then records looked up again; applying: the plan.",
    )
    looked_up_to = models.CharField(
        max_length=254, blank=True, help_text="The last key looked up again at the source."
    )
    planned_at = models.DateTimeField(
        null=True, blank=True, help_text="When a run stopped for approval had made its plan."
    )
    applied_to = models.BigIntegerField(
        default=0, help_text="The last PlannedChange applied: where applying goes on."
    )
    paused_at = models.DateTimeField(
        null=True, blank=True, help_text="Set while the run waits for the task of its next step."
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [("run_sync", "Can run, dry-run and approve ITSM syncs")]
        indexes = [models.Index(fields=["kind", "-started_at"], name="syncrun_kind_started_idx")]
        constraints = [
            # The lock keeps a second run out; this makes a slip impossible to persist.
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(status="running"),
                name="syncrun_one_running_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"#{self.pk} {self.get_kind_display()} {self.mode_label} — {self.get_status_display()}"
        )

    @property
    def mode_label(self) -> str:
        label = "full" if self.mode == SyncMode.FULL else "incremental"
        return f"{label} dry run" if self.dry_run else label

    @property
    def is_finished(self) -> bool:
        return self.status != SyncStatus.RUNNING

    @property
    def is_paused(self) -> bool:
        return self.status == SyncStatus.RUNNING and self.paused_at is not None

    @property
    def approvable(self) -> bool:
        """Its plan may be approved: it waits for approval, or an approval stopped while applying."""
        return self.status == SyncStatus.NEEDS_APPROVAL or (
            self.approved_at is not None and self.status in (SyncStatus.PARTIAL, SyncStatus.FAILED)
        )

    def summary(self) -> dict:
        """The counters as a plain dict: the audit event's `after`, the task's result."""
        return {
            "kind": self.kind,
            "mode": self.mode_label,
            "status": self.status,
            **{name: getattr(self, name) for name in self.COUNTER_FIELDS},
        }

    COUNTER_FIELDS = (
        "pages",
        "seen",
        "created",
        "updated",
        "unchanged",
        "deactivated",
        "rejected",
        "planned_creates",
        "planned_updates",
        "planned_deactivations",
    )


class RejectedRecord(models.Model):
    """A source record a run refused, kept with its reason and exactly as it came (S2)."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="rejected_records")
    key = models.CharField(max_length=254, blank=True, help_text="Its key, when it had one.")
    reason = models.CharField(max_length=500)
    raw = models.JSONField(help_text="The AR values exactly as the source sent them.")

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.key or '(no key)'}: {self.reason}"


class SeenKey(models.Model):
    """A key a full reconcile met in the source; what it never meets, it deactivates.

    Committed with each page, so a run that continues in another task still knows them; the
    run's keys go when it ends. No index or foreign key constraint: rows are only ever added by
    COPY, read by one anti-join and deleted by run.
    """

    run = models.ForeignKey(
        SyncRun, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    key = models.CharField(max_length=254)

    def __str__(self) -> str:
        return self.key


class PlanAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DEACTIVATE = "deactivate", "Deactivate"


class PlannedChange(models.Model):
    """One record a run plans to create, update or deactivate, with its per-field diff.

    Dry runs and runs that wait for approval keep every change here; real runs keep their
    deactivations. `changes` maps a field name to [before, after]; `values` is the complete
    record to write, kept only when the plan may still be applied.
    """

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="planned_changes")
    key = models.CharField(max_length=40)
    action = models.CharField(max_length=20, choices=PlanAction.choices)
    object_id = models.BigIntegerField(
        null=True, blank=True, help_text="The mirror row it changes; empty for a create."
    )
    changes = models.JSONField(default=dict)
    values = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]
        indexes = [
            models.Index(fields=["run", "action", "id"], name="plannedchange_run_action_idx"),
            models.Index(fields=["run", "key"], name="plannedchange_run_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.key}"


class Watermark(models.Model):
    """How far incremental syncs of one kind have read: the latest applied Last Modified Date.

    It only moves forward, and only after the page that carried it has been committed (S2).
    """

    kind = models.CharField(max_length=20, choices=SyncKind.choices, unique=True)
    value = models.DateTimeField(null=True, blank=True)
    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} @ {self.value.isoformat() if self.value else 'never'}"


class SyncLock(models.Model):
    """The per-kind claim that keeps a second run out where PostgreSQL advisory locks don't exist.

    A run claims the row with a conditional UPDATE that must touch exactly one row and renews
    `heartbeat_at` on every page; a claim whose heartbeat went stale (a killed worker) can be
    taken over. On PostgreSQL a session advisory lock does this job and dies with the connection.
    """

    kind = models.CharField(max_length=20, choices=SyncKind.choices, unique=True)
    holder = models.CharField(max_length=40, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind}: {'held' if self.holder else 'free'}"
