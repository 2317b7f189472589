"""The service catalog (catalog administrators): list, add, read and change a service, publish
and retire it, and the categories to file it under. The catalog pages' form, selectors and
services (catalog/): the same rules, messages and audit events as the pages."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from catalog import services as catalog_services
from catalog.forms import ServiceForm
from catalog.models import ApprovalPolicy, Service
from catalog.selectors import category_list, service_list
from msp_portal.tenancy import get_visible_or_404

from .base import CURSOR_PARAMETERS, IDEMPOTENCY_PARAMETER, ApiView, page_of

ONLY_STAFF = "The service catalog is for catalog administrators."


def require(request, perm: str) -> None:
    """The catalog pages' permission_required: without the role, a 403 before any lookup."""
    if not request.user.has_perm(perm):
        raise PermissionDenied(ONLY_STAFF)


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


class ServicePublish(ApiView):
    @extend_schema(operation_id="services_publish", request=None, responses=ServiceDetailSerializer)
    def post(self, request, pk: int):
        """Publish a draft or retired service, so that it can be assigned to customers."""
        service = service_for(request, pk, "catalog.change_service")
        catalog_services.service_publish(actor=request.user, service=service)
        return _detail(request, service.pk)


class ServiceRetire(ApiView):
    @extend_schema(operation_id="services_retire", request=None, responses=ServiceDetailSerializer)
    def post(self, request, pk: int):
        """Retire a published service: it is offered no more, and can be published again."""
        service = service_for(request, pk, "catalog.change_service")
        catalog_services.service_retire(actor=request.user, service=service)
        return _detail(request, service.pk)


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
