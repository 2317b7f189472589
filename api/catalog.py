"""The service catalog (catalog administrators), an end user's entitled services, marketplaces
and their audiences, and "why can X see Y?" (E1–E3): catalog/ and entitlements/ selectors."""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as BodyInvalid
from rest_framework.response import Response

from customers.models import Customer
from customers.scope import CHANGE, administered_customer, end_user_customer, is_msp_staff
from customers.selectors import customer_assignment_list, end_user_list
from entitlements import services
from entitlements.access import catalog_entries, catalog_page_services, explain_access
from entitlements.forms_manage import AUDIENCE_FORMS, MarketplaceForm, OfferAddForm
from entitlements.models import AudienceKind, AudienceRule, Marketplace, MarketplaceService
from entitlements.selectors import marketplace_list
from msp_portal.params import parse_id
from msp_portal.tenancy import get_visible_or_404

from .base import CURSOR_PARAMETERS, ApiView, page_of, rows_data
from .service_catalog import ServiceSerializer


class EntitledCatalog(ApiView):
    @extend_schema(
        operation_id="catalog_list",
        parameters=CURSOR_PARAMETERS,
        responses=page_of(ServiceSerializer, "CatalogPage"),
    )
    def get(self, request):
        """The services entitled to the caller, an end user (E2), by category and name."""
        if end_user_customer(request.user) is None:
            raise PermissionDenied("The catalog is for end users of a customer.")
        entries = catalog_entries(user=request.user)
        # Access is resolved in memory (as on the catalog page), so a page is a slice.
        start = min(parse_id(request.query_params.get("cursor", "")) or 0, len(entries))
        end = start + self._page_size()
        return Response(
            {
                "results": rows_data(
                    ServiceSerializer, catalog_page_services(entries=entries[start:end])
                ),
                "next_cursor": str(end) if end < len(entries) else None,
            }
        )


# ---------------------------------------------------------------------------------------------
# Marketplaces and audiences (customer administrators; catalog administrators for any customer)
# ---------------------------------------------------------------------------------------------


def managed_customer_for(request, pk: int) -> Customer:
    """The customer whose entitlements the caller manages: a 403 for anyone who manages none,
    a 404 for another customer (as entitlements.views_manage.manager_required)."""
    if not is_msp_staff(request.user, CHANGE) and administered_customer(request.user) is None:
        raise PermissionDenied(
            "Only customer administrators and catalog administrators manage marketplaces."
        )
    return get_visible_or_404(request.user, Customer, CHANGE, pk=pk)


class AudienceRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    description = serializers.SerializerMethodField()
    user_id = serializers.IntegerField(allow_null=True)
    organization = serializers.CharField()
    department = serializers.CharField()
    criteria = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))

    def get_description(self, rule: AudienceRule) -> str:
        return rule.describe(self.context.get("company", ""))


class OfferSerializer(serializers.Serializer):
    service_id = serializers.IntegerField(source="assignment.service_id")
    service = serializers.CharField(source="assignment.service.name")


class MarketplaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    services = OfferSerializer(source="offers.all", many=True)
    audience = AudienceRuleSerializer(source="rules.all", many=True)


class MarketplaceBody(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True)


def _marketplaces(user, customer: Customer):
    return marketplace_list(user=user, customer=customer).prefetch_related(
        Prefetch("rules", queryset=AudienceRule.objects.select_related("user")),
        Prefetch(
            "offers",
            queryset=MarketplaceService.objects.select_related("assignment__service").order_by(
                "assignment__service__name", "id"
            ),
        ),
    )


def _serialize_marketplaces(rows, customer: Customer, many: bool):
    return MarketplaceSerializer(rows, many=many, context={"company": customer.company.name}).data


class MarketplaceList(ApiView):
    @extend_schema(
        operation_id="marketplaces_list",
        parameters=CURSOR_PARAMETERS,
        responses=page_of(MarketplaceSerializer, "MarketplacePage"),
    )
    def get(self, request, pk: int):
        """A customer's marketplaces with their services and audience rules (E1)."""
        customer = managed_customer_for(request, pk)
        return self.page(
            _marketplaces(request.user, customer),
            ordering=("name", "id"),
            serialize=lambda rows: _serialize_marketplaces(rows, customer, True),
        )

    @extend_schema(
        operation_id="marketplaces_create",
        request=MarketplaceBody,
        responses={201: MarketplaceSerializer},
    )
    def post(self, request, pk: int):
        customer = managed_customer_for(request, pk)

        def create() -> Response:
            data = self.parsed(MarketplaceForm)
            marketplace = services.marketplace_create(actor=request.user, customer=customer, **data)
            marketplace = _marketplaces(request.user, customer).get(pk=marketplace.pk)
            return Response(_serialize_marketplaces(marketplace, customer, False), status=201)

        return self.idempotent(create)


class MarketplaceDetail(ApiView):
    @extend_schema(operation_id="marketplaces_get", responses=MarketplaceSerializer)
    def get(self, request, pk: int, marketplace_pk: int):
        customer = managed_customer_for(request, pk)
        marketplace = get_visible_or_404(
            request.user, _marketplaces(request.user, customer), pk=marketplace_pk
        )
        return Response(_serialize_marketplaces(marketplace, customer, False))


class StepSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    text = serializers.CharField()


class ExplainSerializer(serializers.Serializer):
    visible = serializers.BooleanField()
    steps = StepSerializer(many=True)


def _required_id(request, name: str) -> int:
    raw = request.query_params.get(name, "")
    if not raw:
        raise BodyInvalid({name: [f"Give the {name}'s id as ?{name}=…"]})
    pk = parse_id(raw)
    if pk is None:
        raise Http404
    return pk


class Explain(ApiView):
    @extend_schema(
        operation_id="access_explain",
        parameters=[
            OpenApiParameter("user", OpenApiTypes.INT, required=True, description="End user id."),
            OpenApiParameter("service", OpenApiTypes.INT, required=True, description="Service id."),
        ],
        responses=ExplainSerializer,
    )
    def get(self, request, pk: int):
        """Why can (or can't) this end user see this service: the decision chain (E3)."""
        customer = managed_customer_for(request, pk)
        user_pk, service_pk = _required_id(request, "user"), _required_id(request, "service")
        target = get_visible_or_404(request.user, end_user_list(customer=customer), pk=user_pk)
        service = get_visible_or_404(
            request.user, customer_assignment_list(customer=customer), service_id=service_pk
        ).service
        explanation = explain_access(user=target, service=service)
        return Response(
            ExplainSerializer(
                {
                    "visible": explanation.visible,
                    "steps": [{"ok": ok, "text": text} for ok, text in explanation.steps],
                }
            ).data
        )


def _marketplace_for(request, pk: int, marketplace_pk: int) -> tuple[Customer, Marketplace]:
    customer = managed_customer_for(request, pk)
    marketplace = get_visible_or_404(
        request.user, marketplace_list(user=request.user, customer=customer), pk=marketplace_pk
    )
    marketplace.customer = customer
    return customer, marketplace


class OfferAddBody(serializers.Serializer):
    services = serializers.ListField(
        child=serializers.IntegerField(), min_length=1, help_text="Ids of assigned services."
    )


class AudienceRuleBody(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AudienceKind.choices)
    user = serializers.IntegerField(required=False, help_text="kind user: an end user's id.")
    organization = serializers.CharField(required=False, help_text="kind group.")
    department = serializers.CharField(required=False, help_text="kind group.")
    criteria = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="kind filter: attribute → values, as in end-user filters.",
    )


def _fresh(request, customer: Customer, marketplace: Marketplace, status: int = 200) -> Response:
    marketplace = _marketplaces(request.user, customer).get(pk=marketplace.pk)
    return Response(_serialize_marketplaces(marketplace, customer, False), status=status)


class MarketplaceServices(ApiView):
    @extend_schema(
        operation_id="marketplaces_services_add",
        request=OfferAddBody,
        responses={201: MarketplaceSerializer},
    )
    def post(self, request, pk: int, marketplace_pk: int):
        """Offer some of the customer's assigned services in the marketplace (E1, C3)."""
        customer, marketplace = _marketplace_for(request, pk, marketplace_pk)
        data = self.parsed(OfferAddForm, marketplace=marketplace)
        services.marketplace_services_add(
            actor=request.user, marketplace=marketplace, services=list(data["services"])
        )
        return _fresh(request, customer, marketplace, 201)


class AudienceRules(ApiView):
    @extend_schema(
        operation_id="marketplaces_audience_add",
        request=AudienceRuleBody,
        responses={201: MarketplaceSerializer},
    )
    def post(self, request, pk: int, marketplace_pk: int):
        """Widen the marketplace's audience by one rule: everyone, a named end user, a derived
        group, or an attribute filter (E1)."""
        customer, marketplace = _marketplace_for(request, pk, marketplace_pk)
        body = self.body()
        kind = body.get("kind")
        form_class = AUDIENCE_FORMS.get(kind) if isinstance(kind, str) else None
        if form_class is None:
            raise BodyInvalid(
                {"kind": ["Choose who to add: " + ", ".join(AudienceKind.values) + "."]}
            )
        criteria = body.get("criteria") or {}
        if not isinstance(criteria, dict):
            raise BodyInvalid(
                {"criteria": ['Send an object of attribute → values, e.g. {"region": ["EMEA"]}.']}
            )
        data = {k: v for k, v in body.items() if k != "criteria"}
        for name, values in criteria.items():
            data[name] = values if isinstance(values, list) else [values]
        form = form_class(data, customer=customer)
        self.parsed_form(form)
        services.audience_rule_add(actor=request.user, marketplace=marketplace, **form.rule)
        return _fresh(request, customer, marketplace, 201)
