"""Credit accounts (K1–K5): balance and forecast, the ledger, grant, adjust and the hard limit.

The account is reached as the credit pages reach it (credits.selectors.credit_customer_get: 403
without a role, 404 outside scope); every change is a credits.services call, its messages the API's.
"""

from collections.abc import Callable
from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as BodyInvalid
from rest_framework.response import Response

from credits import selectors, services
from credits.filters import LedgerFilterSet
from credits.forms import CreditAdjustForm, CreditGrantForm, HardLimitForm
from credits.models import EntryKind
from customers.models import Customer

from .base import CURSOR_PARAMETERS, IDEMPOTENCY_PARAMETER, ApiView, page_of
from .permissions import require_perms

MANAGE = "customers.change_customer"


class ForecastSerializer(serializers.Serializer):
    enough_history = serializers.BooleanField()
    per_day = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    threshold_on = serializers.DateField(allow_null=True)
    zero_on = serializers.DateField(allow_null=True)
    below_threshold = serializers.BooleanField()
    below_zero = serializers.BooleanField()
    message = serializers.CharField()


class AccountSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    customer = serializers.CharField()
    credit_management = serializers.BooleanField()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    alert_threshold = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    hard_limit = serializers.BooleanField()
    forecast = ForecastSerializer()


class EntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=EntryKind.choices)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    balance_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    request_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    actor = serializers.CharField(source="actor_label")
    acting_as = serializers.CharField(source="acting_as_label")
    created_at = serializers.DateTimeField()


class GrantBody(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = serializers.CharField(max_length=500)


class AdjustBody(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    reason = serializers.CharField(max_length=500)


class HardLimitBody(serializers.Serializer):
    hard_limit = serializers.BooleanField()


def _account_response(customer: Customer, status: int = 200) -> Response:
    customer.refresh_from_db(fields=["credit_management", "alert_threshold"])
    account = selectors.customer_credit_account_get(customer=customer)
    outlook = selectors.credit_forecast_get(customer=customer, account=account)
    data = {
        "customer_id": customer.pk,
        "customer": str(customer),
        "credit_management": customer.credit_management,
        "balance": account.balance if account else 0,
        "alert_threshold": customer.alert_threshold,
        "hard_limit": account.hard_limit if account else False,
        "forecast": {
            "enough_history": outlook.enough_history,
            "per_day": outlook.per_day,
            "threshold_on": outlook.threshold_on,
            "zero_on": outlook.zero_on,
            "below_threshold": outlook.below_threshold,
            "below_zero": outlook.below_zero,
            "message": outlook.message,
        },
    }
    return Response(AccountSerializer(data).data, status=status)


def _staff(request) -> None:
    require_perms(request, MANAGE, refusal="Only catalog administrators grant or adjust credits.")


class Account(ApiView):
    @extend_schema(operation_id="credits_get", responses=AccountSerializer)
    def get(self, request, pk: int):
        """A customer's balance, hard limit and forecast (catalog administrators, and the
        customer's administrators for their own)."""
        return _account_response(selectors.credit_customer_get(user=request.user, pk=pk))


class Ledger(ApiView):
    @extend_schema(
        operation_id="credits_ledger",
        parameters=[
            *CURSOR_PARAMETERS,
            OpenApiParameter("kind", OpenApiTypes.STR, enum=EntryKind.values),
            OpenApiParameter("date_from", OpenApiTypes.DATE),
            OpenApiParameter("date_to", OpenApiTypes.DATE),
            OpenApiParameter("request_id", OpenApiTypes.INT),
        ],
        responses=page_of(EntrySerializer, "LedgerPage"),
    )
    def get(self, request, pk: int):
        """The account's ledger, newest first, filtered as on the credits page."""
        customer = selectors.credit_customer_get(user=request.user, pk=pk)
        entries = selectors.customer_ledger_entry_list(user=request.user, customer=customer)
        data = {k: v for k, v in request.query_params.items() if k not in ("cursor", "page_size")}
        ledger = LedgerFilterSet(data or None, entries)
        if ledger.is_bound and not ledger.is_valid():
            raise BodyInvalid({k: list(v) for k, v in ledger.form.errors.items()})
        return self.page(
            ledger.qs,
            ordering=("-created_at", "-id"),
            serializer=EntrySerializer,
        )


def _balance_change(view: ApiView, pk: int, form: type, change: Callable) -> Response:
    """Grant or adjust (catalog administrators): the page's form reads the body, the service
    writes the entry under the Idempotency-Key header's key (K2), and a replay answers the first
    result."""
    request = view.request
    _staff(request)
    customer = selectors.credit_customer_get(user=request.user, pk=pk)
    key = request.headers.get("Idempotency-Key", "")

    def create() -> Response:
        data = view.parsed(form, prefix=None)
        data["idempotency_key"] = f"api:{request.user.pk}:{key}"[:120] if key else ""
        change(actor=request.user, customer=customer, **data)
        return _account_response(customer, 201)

    return view.idempotent(create)


class Grant(ApiView):
    @extend_schema(
        operation_id="credits_grant",
        request=GrantBody,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: AccountSerializer},
    )
    def post(self, request, pk: int):
        """Add credits to the customer's balance (catalog administrators)."""
        return _balance_change(self, pk, CreditGrantForm, services.credit_grant)


class Adjust(ApiView):
    @extend_schema(
        operation_id="credits_adjust",
        request=AdjustBody,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: AccountSerializer},
    )
    def post(self, request, pk: int):
        """Correct the balance up or down, with a reason (catalog administrators)."""
        return _balance_change(self, pk, CreditAdjustForm, services.credit_adjust)


class HardLimit(ApiView):
    @extend_schema(
        operation_id="credits_hard_limit", request=HardLimitBody, responses=AccountSerializer
    )
    def post(self, request, pk: int):
        """Switch the hard limit on (requests the balance can't cover are refused) or off."""
        _staff(request)
        customer = selectors.credit_customer_get(user=request.user, pk=pk)
        if not isinstance(self.body().get("hard_limit"), bool):
            raise BodyInvalid(
                {"hard_limit": ["Send true to switch the hard limit on, false to switch it off."]}
            )
        data = self.parsed(HardLimitForm)
        services.credit_hard_limit_set(
            actor=request.user, customer=customer, hard_limit=data["hard_limit"]
        )
        return _account_response(customer)
