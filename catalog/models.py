"""The service catalog: categories, and services with a status, a price in credits and limits."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

PRICE_MIN_MESSAGE = "Enter a price of 0 or more credits; 0 makes the service free."
MIN_QUANTITY_MESSAGE = "The minimum quantity must be at least 1; leave it empty for no minimum."
MAX_QUANTITY_MESSAGE = "The maximum quantity must be at least 1; leave it empty for no limit."


class Category(models.Model):
    """A heading of the catalog; its name is unique whatever the letter case."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="catalog_category_name_ci_unique",
                violation_error_message="A category with this name already exists.",
            ),
        ]
        indexes = [models.Index(fields=["name", "id"], name="catalog_category_list_idx")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.name and (
            Category.objects.filter(name__iexact=self.name).exclude(pk=self.pk).exists()
        ):
            raise ValidationError(
                {
                    "name": f"A category named “{self.name}” already exists. Choose another "
                    "name, or file the service under the existing category."
                }
            )


class ServiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class ApprovalPolicy(models.TextChoices):
    """Who must approve a request for a service before it is fulfilled (R3)."""

    NONE = "none", "No approval"
    CUSTOMER_ADMIN = "customer_admin", "A customer administrator"
    CUSTOMER_ADMIN_THEN_MSP = (
        "customer_admin_then_msp",
        ("A customer administrator, then an MSP catalog administrator"),
    )
    ABOVE_AMOUNT = "above_amount", "A customer administrator, when the total is above an amount"


class Service(models.Model):
    """A service of the catalog; only published ones can be assigned to customers and requested.

    Its price is in credits and never negative (0 means free); the optional quantity limits are
    at least 1, and the maximum is never below the minimum.
    """

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="services")
    status = models.CharField(
        max_length=12, choices=ServiceStatus.choices, default=ServiceStatus.DRAFT
    )
    price = models.DecimalField(
        "price (credits)",
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"), message=PRICE_MIN_MESSAGE)],
        help_text="Credits debited per unit requested; 0 makes the service free.",
    )
    min_quantity = models.IntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1, message=MIN_QUANTITY_MESSAGE)],
        help_text="Fewest units one request may ask for; empty for no minimum.",
    )
    max_quantity = models.IntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1, message=MAX_QUANTITY_MESSAGE)],
        help_text="Most units one request may ask for; empty for no limit.",
    )
    approval_policy = models.CharField(
        max_length=24,
        choices=ApprovalPolicy.choices,
        default=ApprovalPolicy.NONE,
        help_text="Who must approve a request before it is fulfilled.",
    )
    approval_threshold = models.DecimalField(
        "approval above (credits)",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"), message=PRICE_MIN_MESSAGE)],
        help_text="With “when the total is above an amount”: requests costing more need approval.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(approval_policy="above_amount")
                | models.Q(approval_threshold__isnull=False),
                name="catalog_service_threshold_with_policy",
                violation_error_message="Say above which total a request needs approval.",
            ),
            models.UniqueConstraint(
                Lower("name"),
                name="catalog_service_name_ci_unique",
                violation_error_message="A service with this name already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0),
                name="catalog_service_price_not_negative",
                violation_error_message=PRICE_MIN_MESSAGE,
            ),
            models.CheckConstraint(
                condition=models.Q(min_quantity__isnull=True) | models.Q(min_quantity__gte=1),
                name="catalog_service_min_quantity_positive",
                violation_error_message=MIN_QUANTITY_MESSAGE,
            ),
            models.CheckConstraint(
                condition=models.Q(max_quantity__isnull=True) | models.Q(max_quantity__gte=1),
                name="catalog_service_max_quantity_positive",
                violation_error_message=MAX_QUANTITY_MESSAGE,
            ),
            models.CheckConstraint(
                condition=models.Q(min_quantity__isnull=True)
                | models.Q(max_quantity__isnull=True)
                | models.Q(max_quantity__gte=models.F("min_quantity")),
                name="catalog_service_max_not_below_min",
                violation_error_message="The maximum quantity can't be below the minimum.",
            ),
        ]
        indexes = [
            # The list pages keyset-paginate on (name, id), alone or narrowed by status/category.
            models.Index(fields=["name", "id"], name="catalog_service_list_idx"),
            models.Index(fields=["status", "name", "id"], name="catalog_service_status_idx"),
            models.Index(fields=["category", "name", "id"], name="catalog_service_category_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_free(self) -> bool:
        return self.price == 0

    @property
    def quantity_label(self) -> str:
        low, high = self.min_quantity, self.max_quantity
        if low and high:
            return str(low) if low == high else f"{low}–{high}"
        if low:
            return f"{low} or more"
        if high:
            return f"Up to {high}"
        return "Any"

    def approval_steps(self, total: Decimal) -> list[str]:
        """Who must approve a request of this total, in order: "customer_admin", then "msp" (R3)."""
        policy = self.approval_policy
        if policy == ApprovalPolicy.CUSTOMER_ADMIN:
            return ["customer_admin"]
        if policy == ApprovalPolicy.CUSTOMER_ADMIN_THEN_MSP:
            return ["customer_admin", "msp"]
        if policy == ApprovalPolicy.ABOVE_AMOUNT and self.approval_threshold is not None:
            return ["customer_admin"] if total > self.approval_threshold else []
        return []

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.approval_policy == ApprovalPolicy.ABOVE_AMOUNT and self.approval_threshold is None:
            errors["approval_threshold"] = (
                "Say above which total (in credits) a request needs approval, or choose another "
                "approval policy."
            )
        if self.name and (
            Service.objects.filter(name__iexact=self.name).exclude(pk=self.pk).exists()
        ):
            errors["name"] = (
                f"A service named “{self.name}” already exists. Choose another name, or edit "
                "the existing service instead."
            )
        low, high = self.min_quantity, self.max_quantity
        if low is not None and high is not None and low >= 1 and high < low:
            errors["max_quantity"] = (
                f"The maximum quantity ({high}) is below the minimum ({low}). Raise the maximum "
                "or lower the minimum."
            )
        if errors:
            raise ValidationError(errors)


class QuestionKind(models.TextChoices):
    SHORT_TEXT = "short_text", "Short text"
    LONG_TEXT = "long_text", "Long text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    SINGLE_CHOICE = "single_choice", "Single choice"
    MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
    YES_NO = "yes_no", "Yes or no"
    COLLEAGUE = "colleague", "A colleague"


# Kinds whose answer is one of a list the catalog administrator writes.
CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
# Kinds another question's condition may test ("show when X is / is not Y").
CONDITION_KINDS = (*CHOICE_KINDS, QuestionKind.YES_NO)


class ConditionOperator(models.TextChoices):
    IS = "is", "is"
    IS_NOT = "is_not", "is not"


class Question(models.Model):
    """One question a service asks its requesters (R1), in the order of position.

    A choice question has its choices; a number question's minimum is never above its maximum;
    a condition names an earlier question of the same service and one of its possible answers
    (catalog.questions checks the definitions, the request form evaluates them).
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=QuestionKind.choices)
    label = models.CharField(max_length=200)
    help_text = models.CharField(max_length=300, blank=True)
    required = models.BooleanField(default=False)
    choices = models.JSONField(default=list, blank=True)
    min_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    max_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # "Show when <condition_question> <operator> <condition_value>"; empty: always shown.
    condition_question = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="dependents"
    )
    condition_operator = models.CharField(
        max_length=8, choices=ConditionOperator.choices, blank=True
    )
    condition_value = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["service", "position", "id"], name="catalog_question_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_value__isnull=True)
                | models.Q(max_value__isnull=True)
                | models.Q(max_value__gte=models.F("min_value")),
                name="catalog_question_max_not_below_min",
                violation_error_message="The largest number can't be below the smallest.",
            ),
            models.CheckConstraint(
                condition=models.Q(condition_question__isnull=True)
                | ~models.Q(condition_operator=""),
                name="catalog_question_condition_complete",
                violation_error_message="Say whether the answer must be or must not be the value.",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def has_condition(self) -> bool:
        return self.condition_question_id is not None

    def condition_label(self, label_of: dict[int, str]) -> str:
        """The condition in words, naming the other question by label (from label_of)."""
        if not self.has_condition:
            return ""
        label = label_of.get(self.condition_question_id, "an earlier question")
        return (
            f"Shown when “{label}” {self.get_condition_operator_display()} “{self.condition_value}”"
        )
