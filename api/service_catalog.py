"""The service catalog (catalog administrators): list, add, read and change a service, publish
and retire it, its questions, and the categories to file it under. The catalog pages' form, selectors and
services (catalog/): the same rules, messages and audit events as the pages."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as BodyInvalid
from rest_framework.response import Response

from catalog import services as catalog_services
from catalog.forms import QuestionForm, ServiceForm
from catalog.models import ApprovalPolicy, ConditionOperator, Question, QuestionKind, Service
from catalog.selectors import category_list, question_list, questions_before, service_list
from msp_portal.tenancy import get_visible_or_404

from .base import CURSOR_PARAMETERS, IDEMPOTENCY_PARAMETER, ApiView, page_of
from .permissions import require_perms

ONLY_STAFF = "The service catalog is for catalog administrators."


def require(request, perm: str) -> None:
    """The catalog pages' permission_required (T1)."""
    require_perms(request, perm, refusal=ONLY_STAFF)


def service_for(request, pk: int, perm: str) -> Service:
    require(request, perm)
    return get_visible_or_404(request.user, service_list(user=request.user), pk=pk)


# ---------------------------------------------------------------------------------------------
# Serializers: shapes only, no rule.
# ---------------------------------------------------------------------------------------------


class ServiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    category_id = serializers.IntegerField()
    category = serializers.CharField(source="category.name")
    status = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    min_quantity = serializers.IntegerField(allow_null=True)
    max_quantity = serializers.IntegerField(allow_null=True)


class ServiceDetailSerializer(ServiceSerializer):
    approval_policy = serializers.ChoiceField(choices=ApprovalPolicy.choices)
    approval_threshold = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class ServiceBody(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    category = serializers.IntegerField(help_text="A category's id (GET /categories/).")
    description = serializers.CharField(required=False, allow_blank=True)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Credits per unit; 0 makes it free."
    )
    min_quantity = serializers.IntegerField(required=False, allow_null=True)
    max_quantity = serializers.IntegerField(required=False, allow_null=True)
    approval_policy = serializers.ChoiceField(
        choices=ApprovalPolicy.choices,
        required=False,
        help_text="Who approves a request before it is fulfilled. Left out: no approval for a "
        "new service; unchanged for an existing one.",
    )
    approval_threshold = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="With `above_amount`: the total above which a request needs approval.",
    )


class CategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()


def _detail(request, pk: int, status: int = 200) -> Response:
    service = service_list(user=request.user).get(pk=pk)
    return Response(ServiceDetailSerializer(service).data, status=status)


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------


class ServiceList(ApiView):
    @extend_schema(
        operation_id="services_list",
        parameters=[
            *CURSOR_PARAMETERS,
            OpenApiParameter("q", OpenApiTypes.STR, description="Words of name or description."),
            OpenApiParameter("status", OpenApiTypes.STR, enum=["draft", "published", "retired"]),
        ],
        responses=page_of(ServiceSerializer, "ServicePage"),
    )
    def get(self, request):
        """The whole service catalog (catalog administrators)."""
        require(request, "catalog.view_service")
        rows = service_list(
            user=request.user,
            query=request.query_params.get("q", "")[:200],
            status=request.query_params.get("status", "")[:20],
        )
        return self.page(rows, ordering=("name", "id"), serializer=ServiceSerializer)

    @extend_schema(
        operation_id="services_create",
        request=ServiceBody,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: ServiceDetailSerializer},
    )
    def post(self, request):
        """Add a service to the catalog, as a draft: publish it to assign it to customers."""
        require(request, "catalog.add_service")

        def create() -> Response:
            data = self.parsed(ServiceForm, user=request.user)
            service = catalog_services.service_create(actor=request.user, **data)
            return _detail(request, service.pk, 201)

        return self.idempotent(create)


class ServiceDetail(ApiView):
    @extend_schema(operation_id="services_get", responses=ServiceDetailSerializer)
    def get(self, request, pk: int):
        return _detail(request, service_for(request, pk, "catalog.view_service").pk)

    @extend_schema(
        operation_id="services_update", request=ServiceBody, responses=ServiceDetailSerializer
    )
    def post(self, request, pk: int):
        """Change a service's details: send them all, as the service page's form does (its
        status changes through publish and retire)."""
        service = service_for(request, pk, "catalog.change_service")
        data = self.parsed(ServiceForm, user=request.user)
        if "approval_policy" not in self.body():
            data["approval_policy"] = data["approval_threshold"] = None  # kept as it is
        catalog_services.service_update(actor=request.user, service=service, **data)
        return _detail(request, service.pk)


def _status_change(change, operation_id: str, summary: str) -> type[ApiView]:
    """A view that moves a service to another status with change (catalog.services)."""

    class StatusChange(ApiView):
        @extend_schema(
            operation_id=operation_id,
            request=None,
            responses=ServiceDetailSerializer,
            description=summary,
        )
        def post(self, request, pk: int):
            service = service_for(request, pk, "catalog.change_service")
            change(actor=request.user, service=service)
            return _detail(request, service.pk)

    return StatusChange


ServicePublish = _status_change(
    catalog_services.service_publish,
    "services_publish",
    "Publish a draft or retired service, so that it can be assigned to customers.",
)
ServiceRetire = _status_change(
    catalog_services.service_retire,
    "services_retire",
    "Retire a published service: it is offered no more, and can be published again.",
)


class CategoryList(ApiView):
    @extend_schema(
        operation_id="categories_list",
        parameters=CURSOR_PARAMETERS,
        responses=page_of(CategorySerializer, "CategoryPage"),
    )
    def get(self, request):
        """The categories services are filed under (catalog administrators)."""
        require(request, "catalog.view_category")
        return self.page(
            category_list(user=request.user), ordering=("name", "id"), serializer=CategorySerializer
        )


# ---------------------------------------------------------------------------------------------
# A service's questions (R1): what its request form asks, in order.
# ---------------------------------------------------------------------------------------------


class QuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=QuestionKind.choices)
    label = serializers.CharField()
    help_text = serializers.CharField()
    required = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.CharField())
    min_value = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    max_value = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    condition_question_id = serializers.IntegerField(allow_null=True)
    condition_operator = serializers.CharField()
    condition_value = serializers.CharField()


class QuestionBody(serializers.Serializer):
    label = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=QuestionKind.choices)
    required = serializers.BooleanField(required=False)
    help_text = serializers.CharField(required=False, allow_blank=True)
    choices = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="For single and multiple choice."
    )
    min_value = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    max_value = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    condition_question = serializers.IntegerField(
        required=False, allow_null=True, help_text="Shown only depending on an earlier question."
    )
    condition_operator = serializers.ChoiceField(choices=ConditionOperator.choices, required=False)
    condition_value = serializers.CharField(required=False, allow_blank=True)


class MoveBody(serializers.Serializer):
    direction = serializers.ChoiceField(choices=["up", "down"])


def _question_form_data(body: dict) -> dict:
    """The body as the question form reads it: choices one per line, as typed on the page."""
    data = dict(body)
    if isinstance(data.get("choices"), list):
        data["choices"] = "\n".join(str(choice) for choice in data["choices"])
    return data


def question_for(request, pk: int, question_pk: int) -> tuple[Service, Question]:
    service = service_for(request, pk, "catalog.change_service")
    return service, get_object_or_404(service.questions, pk=question_pk)


def _questions_response(service: Service, status: int = 200) -> Response:
    return Response(
        QuestionSerializer(question_list(service=service), many=True).data, status=status
    )


class ServiceQuestions(ApiView):
    @extend_schema(operation_id="services_questions_list", responses=QuestionSerializer(many=True))
    def get(self, request, pk: int):
        """The service's questions in the order its request form asks them."""
        return _questions_response(service_for(request, pk, "catalog.view_service"))

    @extend_schema(
        operation_id="services_questions_add",
        request=QuestionBody,
        responses={201: QuestionSerializer(many=True)},
    )
    def post(self, request, pk: int):
        """Add a question at the end of the form; answers the form's questions."""
        service = service_for(request, pk, "catalog.change_service")
        questions = question_list(service=service)
        form = QuestionForm(_question_form_data(self.body()), before=questions)
        catalog_services.question_add(actor=request.user, service=service, **self.parsed_form(form))
        return _questions_response(service, 201)


class ServiceQuestion(ApiView):
    @extend_schema(
        operation_id="services_questions_update",
        request=QuestionBody,
        responses=QuestionSerializer(many=True),
    )
    def post(self, request, pk: int, question_pk: int):
        """Change a question (send it whole); requests already made keep it as it was asked."""
        service, question = question_for(request, pk, question_pk)
        before = questions_before(question_list(service=service), question)
        form = QuestionForm(_question_form_data(self.body()), before=before)
        catalog_services.question_update(
            actor=request.user, question=question, **self.parsed_form(form)
        )
        return _questions_response(service)

    @extend_schema(operation_id="services_questions_delete", responses={204: None})
    def delete(self, request, pk: int, question_pk: int):
        """Delete a question no other question depends on; requests keep their answers."""
        _service, question = question_for(request, pk, question_pk)
        catalog_services.question_delete(actor=request.user, question=question)
        return Response(status=204)


class ServiceQuestionMove(ApiView):
    @extend_schema(
        operation_id="services_questions_move",
        request=MoveBody,
        responses=QuestionSerializer(many=True),
    )
    def post(self, request, pk: int, question_pk: int):
        """Move a question one place up or down (it stays after the one it depends on)."""
        service, question = question_for(request, pk, question_pk)
        direction = self.body().get("direction")
        if direction not in ("up", "down"):
            raise BodyInvalid({"direction": ['Send "up" or "down".']})
        catalog_services.question_move(actor=request.user, question=question, direction=direction)
        return _questions_response(service)
