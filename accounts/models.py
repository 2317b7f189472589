"""Portal accounts: one ITSM company per user at a time, roles as groups, and people groups."""

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """A portal account; it belongs to exactly one ITSM company (only the bootstrap superuser has none)."""

    company = models.ForeignKey(
        "itsm_sync.Company", null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    person = models.OneToOneField(
        "itsm_sync.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="user"
    )
    is_external = models.BooleanField(
        "external user",
        default=False,
        help_text="Signs in without an ITSM person record. Closed once MSP mode is on.",
    )
    invited_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the last invitation to choose a password was e-mailed.",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        permissions = [("add_external_user", "Can create external users")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(company__isnull=False) | models.Q(is_superuser=True),
                name="user_has_company_unless_superuser",
                violation_error_message="Choose the company this user belongs to.",
            ),
        ]

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.get_username()

    def clean(self) -> None:
        super().clean()
        from .services import external_user_allowed_check

        was_external = self.pk and User.objects.filter(pk=self.pk, is_external=True).exists()
        if self.is_external and not was_external:
            try:
                external_user_allowed_check()
            except ValidationError as error:
                raise ValidationError({"is_external": error.messages}) from error


class PeopleGroup(models.Model):
    """A named group of people; it may be opened to end users as collaborators until MSP mode is on."""

    name = models.CharField(max_length=150, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(User, blank=True, related_name="people_groups")
    open_to_collaborators = models.BooleanField(
        "available to end users as collaborators",
        default=False,
        help_text="End users may add this group as collaborators. Closed once MSP mode is on.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        from .services import collaboration_group_allowed_check

        if self.open_to_collaborators and not (
            self.pk and PeopleGroup.objects.filter(pk=self.pk, open_to_collaborators=True).exists()
        ):
            try:
                collaboration_group_allowed_check()
            except ValidationError as error:
                raise ValidationError({"open_to_collaborators": error.messages}) from error
