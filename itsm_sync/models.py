"""The ITSM mirror: companies (COM:Company) and people (CTM:People) as the source last said."""

from django.db import models
from django.utils import timezone

GLOBAL_COMPANY_NAME = "Global"


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
        return self.name == GLOBAL_COMPANY_NAME


class Person(models.Model):
    """An ITSM person, belonging to exactly one company at a time."""

    person_id = models.CharField("Person ID", max_length=40, unique=True)
    remedy_login_id = models.CharField("Remedy Login ID", max_length=254, blank=True)
    first_name = models.CharField("First Name", max_length=100, blank=True)
    last_name = models.CharField("Last Name", max_length=100, blank=True)
    email = models.CharField("Internet E-mail", max_length=254, blank=True)
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="people")
    organization = models.CharField(max_length=100, blank=True)
    department = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    site_group = models.CharField("Site Group", max_length=100, blank=True)
    site = models.CharField(max_length=100, blank=True)
    client_type = models.CharField("Client Type", max_length=60, blank=True)
    support_staff = models.BooleanField("Support Staff", default=False)
    vip = models.BooleanField("VIP", default=False)
    profile_status = models.CharField(
        "Profile Status", max_length=20, choices=RecordStatus.choices
    )
    last_modified = models.DateTimeField("Last Modified Date")
    is_active = models.BooleanField(
        "Present in source", default=True, help_text="False once a full sync no longer finds it."
    )
    mirrored_at = models.DateTimeField(default=timezone.now, help_text="Last change applied here.")

    class Meta:
        verbose_name_plural = "people"
        ordering = ["last_name", "first_name", "person_id"]
        indexes = [
            models.Index(
                fields=["company", "organization", "department"], name="person_company_org_idx"
            ),
            models.Index(fields=["last_name", "first_name", "id"], name="person_name_idx"),
            models.Index(fields=["last_modified"], name="person_last_modified_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.person_id})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.person_id

    @property
    def is_enabled(self) -> bool:
        return self.is_active and self.profile_status == RecordStatus.ENABLED
