"""Service requests: an end user's requests and new ones, handlers' lists and decisions (K3, R1–R3).

The guards are the request pages' own (entitlements.views_portal), so who gets 403 and who 404
is decided in one place; requests are written by entitlements.services alone.
"""

from django.core.exceptions import PermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as BodyInvalid
from rest_framework.response import Response

from approvals import selectors as approval_selectors
from approvals import services as approval_services
from approvals.forms import DecisionForm
from approvals.models import LinkDecision
from approvals.selectors import request_steps
from customers.scope import CHANGE, customer_accounts, end_user_customer, is_msp_staff
from entitlements import selectors, services
from entitlements.access import visible_service
from entitlements.filters import OPEN_STATUSES
from entitlements.forms_portal import RequestForm, TransitionForm
from entitlements.models import RequestStatus, ServiceRequest
from msp_portal.params import parse_id
from msp_portal.tenancy import get_visible_or_404

from .base import CURSOR_PARAMETERS, IDEMPOTENCY_PARAMETER, ApiView, page_of

ORDERING = ("-submitted_at", "-id")


class RequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    requester_id = serializers.IntegerField()
    requester = serializers.CharField(source="requester.display_name")
    beneficiary_id = serializers.IntegerField(allow_null=True, default=None)
    service_id = serializers.IntegerField()
    service = serializers.CharField(source="service.name")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    justification = serializers.CharField()
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    status_note = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AnswerSerializer(serializers.Serializer):
    question_id = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.JSONField(allow_null=True)
    display = serializers.CharField()


class ApprovalStepSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    kind = serializers.CharField()
    routed_to_msp = serializers.BooleanField(
        help_text="A customer administrator's step that the MSP's catalog administrators decide, "
        "because nobody at the customer but the request's own people could."
    )
    status = serializers.CharField()
    waiting_since = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.CharField(source="decided_by_label")
    decided_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()


class RequestDetailSerializer(RequestSerializer):
    answers = AnswerSerializer(
        source="answers_asked", many=True, help_text="The service's questions as they were asked."
    )
    approval_steps = ApprovalStepSerializer(source="steps", many=True)
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=RequestStatus.choices),
        help_text="The statuses the caller may move the request to now.",
    )


class RequestCreateBody(serializers.Serializer):
    service = serializers.IntegerField(help_text="A service entitled to you (GET /catalog/).")
    quantity = serializers.IntegerField()
    justification = serializers.CharField(required=False, allow_blank=True)
    beneficiary = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The id of the colleague (of your own customer) the request is for; leave it "
        "out for yourself.",
    )
    answers = serializers.DictField(
        required=False,
        help_text='The answers to the service\'s questions, by question: `{"q_12": "Berlin", '
        '"q_13": ["a", "b"]}` (a colleague question takes the colleague\'s id).',
    )


class DecisionBody(serializers.Serializer):
    decision = serializers.ChoiceField(choices=LinkDecision.choices)
    note = serializers.CharField(required=False, allow_blank=True)


class TransitionBody(serializers.Serializer):
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True)


def _rows(user):
    return selectors.request_list(user=user).select_related("requester", "service")


def _detail(request, service_request: ServiceRequest, status: int = 200) -> Response:
    service_request.actions = sorted(
        services.request_transitions_for(actor=request.user, request=service_request)
    )
    service_request.answers_asked = selectors.request_answers(request=service_request)
    service_request.steps = request_steps(request=service_request)
    data = RequestDetailSerializer(service_request).data
    return Response(data, status=status)


class RequestList(ApiView):
    @extend_schema(
        operation_id="requests_list",
        parameters=[
            *CURSOR_PARAMETERS,
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=["open", *RequestStatus.values],
                description="One status, or `open` for every status still open.",
            ),
            OpenApiParameter("mine", OpenApiTypes.BOOL, description="Only the caller's own."),
            OpenApiParameter(
                "customer", OpenApiTypes.INT, description="Only this customer's (of those seen)."
            ),
        ],
        responses=page_of(RequestSerializer, "RequestPage"),
    )
    def get(self, request):
        """The requests the caller may see: those they handle (their customer's, or every
        customer's for catalog administrators) and their own, newest first."""
        selectors.request_reader_or_403(user=request.user)
        rows = _rows(request.user)
        status = request.query_params.get("status", "")
        if status == "open":
            rows = rows.filter(status__in=OPEN_STATUSES)
        elif status in RequestStatus.values:
            rows = rows.filter(status=status)
        elif status:
            raise BodyInvalid(
                {"status": ["Use `open` or one of: " + ", ".join(RequestStatus.values) + "."]}
            )
        if request.query_params.get("mine") in ("true", "1"):
            rows = rows.filter(requester=request.user)
        if "customer" in request.query_params:
            customer_id = parse_id(request.query_params["customer"])
            if customer_id is None:
                raise BodyInvalid({"customer": ["Give the customer's id, a whole number."]})
            rows = rows.filter(customer_id=customer_id)
        return self.page(
            rows,
            ordering=ORDERING,
            serializer=RequestSerializer,
        )

    @extend_schema(
        operation_id="requests_create",
        request=RequestCreateBody,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: RequestDetailSerializer},
    )
    def post(self, request):
        """Request a service entitled to the caller, an end user (E2); debits its credits (K3)."""
        if end_user_customer(request.user) is None:
            raise PermissionDenied("Requests are made by end users of a customer.")
        body = self.body()

        def create() -> Response:
            service_id = parse_id(body.get("service"))
            entry = (
                visible_service(user=request.user, service_id=service_id) if service_id else None
            )
            if entry is None:
                raise BodyInvalid(
                    {
                        "service": [
                            "No such service among yours: GET /api/v1/catalog/ lists the "
                            "services you may request."
                        ]
                    }
                )
            form = RequestForm(
                {k: v for k, v in body.items() if k not in ("submission_key", "answers")},
                service=entry.service,
                colleagues=customer_accounts(end_user_customer(request.user)).exclude(
                    pk=request.user.pk
                ),
            )
            data = self.parsed_form(form)
            data.pop("submission_key", None)
            data["answers"] = _answers(body.get("answers"))
            created = services.request_submit(
                actor=request.user, service=entry.service, access=entry, **data
            )
            return _detail(request, created, 201)

        return self.idempotent(create)


def _answers(raw) -> dict:
    """The body's answers as the request form passes them: by `q_<question id>`."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BodyInvalid(
            {"answers": ['Send the answers as an object by question, such as {"q_12": "Berlin"}.']}
        )
    return {(k if str(k).startswith("q_") else f"q_{k}"): v for k, v in raw.items()}


def _visible(request, pk: int) -> ServiceRequest:
    selectors.request_reader_or_403(user=request.user)
    return get_visible_or_404(request.user, _rows(request.user), pk=pk)


class RequestDetail(ApiView):
    @extend_schema(operation_id="requests_get", responses=RequestDetailSerializer)
    def get(self, request, pk: int):
        return _detail(request, _visible(request, pk))


class RequestCancel(ApiView):
    @extend_schema(operation_id="requests_cancel", request=None, responses=RequestDetailSerializer)
    def post(self, request, pk: int):
        """The requester cancels their request while nobody has started on it (K3 refunds)."""
        service_request = _visible(request, pk)
        if service_request.requester_id != request.user.pk:
            raise PermissionDenied(
                "Only the requester cancels a request; handlers use POST …/transition/."
            )
        updated = services.request_transition(
            actor=request.user, request=service_request, status=RequestStatus.CANCELLED
        )
        return _detail(request, _visible(request, updated.pk))


class RequestTransition(ApiView):
    @extend_schema(
        operation_id="requests_transition",
        request=TransitionBody,
        responses=RequestDetailSerializer,
    )
    def post(self, request, pk: int):
        """A handler approves, rejects, starts, fulfils or fails a request, with a note."""
        service_request = _visible(request, pk)
        data = self.parsed(TransitionForm)
        updated = services.request_transition(actor=request.user, request=service_request, **data)
        return _detail(request, _visible(request, updated.pk))


class RequestDecide(ApiView):
    @extend_schema(
        operation_id="requests_decide", request=DecisionBody, responses=RequestDetailSerializer
    )
    def post(self, request, pk: int):
        """An approver approves or rejects the step the request waits for (R3)."""
        if not approval_services.is_approver(request.user):
            raise PermissionDenied(
                "Approvals are for customer administrators and MSP catalog administrators."
            )
        service_request = get_visible_or_404(request.user, _rows(request.user), pk=pk)
        data = self.parsed(DecisionForm)
        approval_services.approval_decide(
            actor=request.user,
            request=service_request,
            approve=data["decision"] == LinkDecision.APPROVE,
            note=data["note"],
        )
        return _detail(request, _visible(request, pk))


class WaitingStepSerializer(ApprovalStepSerializer):
    request = RequestSerializer()


class ApprovalList(ApiView):
    @extend_schema(
        operation_id="approvals_list",
        parameters=[
            *CURSOR_PARAMETERS,
            OpenApiParameter(
                "show",
                OpenApiTypes.STR,
                enum=[approval_selectors.MINE, approval_selectors.ALL],
                description="`mine` (default): the steps the caller decides; `all` (catalog "
                "administrators): every customer's too.",
            ),
        ],
        responses=page_of(WaitingStepSerializer, "ApprovalPage"),
    )
    def get(self, request):
        """Approval steps waiting for a decision, oldest first."""
        if not approval_services.is_approver(request.user):
            raise PermissionDenied(
                "Approvals are for customer administrators and MSP catalog administrators."
            )
        staff = is_msp_staff(request.user, CHANGE)
        show = request.query_params.get("show", approval_selectors.MINE)
        if show not in (approval_selectors.MINE, approval_selectors.ALL):
            raise BodyInvalid({"show": ["Use `mine` or `all`."]})
        if not staff:
            show = approval_selectors.MINE
        return self.page(
            approval_selectors.approval_list(user=request.user, show=show),
            ordering=("waiting_since", "id"),
            serializer=WaitingStepSerializer,
        )
