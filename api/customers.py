"""Customers (catalog administrators): list, detail, add; assigned services, administrators,
end-user filters. The pages' guards, forms, selectors and services (customers/)."""

from functools import partial

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as BodyInvalid
from rest_framework.response import Response

from customers import selectors, services
from customers.forms import (
    AdministratorAddForm,
    CustomerAddForm,
    CustomerSettingsForm,
    EndUserFilterForm,
    ServicesAddForm,
)
from customers.models import FILTER_ATTRIBUTES, Customer
from msp_portal.tenancy import get_visible_or_404

from .base import CURSOR_PARAMETERS, IDEMPOTENCY_PARAMETER, ApiView, page_of
from .permissions import require_perms

VIEW = "customers.view_customer"
CHANGE = "customers.change_customer"


def require_role(request, *perms: str) -> None:
    """The customers pages' permission_required (T1)."""
    require_perms(
        request, *perms, refusal="Your role does not allow this: it is for catalog administrators."
    )


def customer_for(request, pk: int, *perms: str) -> Customer:
    """A customer the caller may see, after the role check (as customers.views._customer)."""
    require_role(request, *perms)
    return selectors.customer_get(user=request.user, pk=pk)


# ---------------------------------------------------------------------------------------------
# Serializers: shapes only, no rule.
# ---------------------------------------------------------------------------------------------


class CustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="company.name")
    company_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    credit_management = serializers.BooleanField()
    alert_threshold = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    needs_administrator = serializers.BooleanField()


class CustomerAddBody(serializers.Serializer):
    company = serializers.IntegerField(help_text="The ITSM company's id (eligible companies only).")
    administrators = serializers.ListField(
        child=serializers.IntegerField(), help_text="ITSM person ids of the company's people."
    )
    services = serializers.ListField(child=serializers.IntegerField(), required=False)
    credit_management = serializers.BooleanField(required=False)
    alert_threshold = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True
    )
    opening_grant = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True
    )


class AssignmentSerializer(serializers.Serializer):
    service_id = serializers.IntegerField()
    service = serializers.CharField(source="service.name")
    category = serializers.CharField(source="service.category.name")
    assigned_at = serializers.DateTimeField()


class ServicesAddBody(serializers.Serializer):
    services = serializers.ListField(child=serializers.IntegerField(), min_length=1)


class AdministratorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    name = serializers.CharField(source="user.display_name")
    email = serializers.CharField(source="user.email")
    is_active = serializers.BooleanField(source="user.is_active")
    added_at = serializers.DateTimeField()


class AdministratorAddBody(serializers.Serializer):
    person = serializers.IntegerField(help_text="An Enabled ITSM person of the customer's company.")


class EndUserFilterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    criteria = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    updated_at = serializers.DateTimeField()


EndUserFilterBody = serializers.Serializer.__class__(
    "EndUserFilterBody",
    (serializers.Serializer,),
    {
        "name": serializers.CharField(max_length=120),
        **{
            name: serializers.ListField(
                child=serializers.CharField(), required=False, help_text=label
            )
            for name, label in FILTER_ATTRIBUTES
        },
    },
)


def _customer_response(customer: Customer, status: int = 200) -> Response:
    return Response(CustomerSerializer(customer).data, status=status)


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------


class CustomerList(ApiView):
    @extend_schema(
        operation_id="customers_list",
        parameters=CURSOR_PARAMETERS,
        responses=page_of(CustomerSerializer, "CustomerPage"),
    )
    def get(self, request):
        """Every customer the caller may see (catalog administrators), by name."""
        require_role(request, VIEW)
        return self.page_from(
            partial(selectors.customer_page, user=request.user), serializer=CustomerSerializer
        )

    @extend_schema(
        operation_id="customers_add",
        request=CustomerAddBody,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: CustomerSerializer},
    )
    def post(self, request):
        """Make an ITSM company a customer, with its administrators (C1, C2)."""
        require_role(request, CHANGE)

        def create() -> Response:
            data = self.parsed(CustomerAddForm)
            customer = services.customer_add(actor=request.user, **data)
            return _customer_response(customer, 201)

        return self.idempotent(create)


class CustomerDetail(ApiView):
    @extend_schema(operation_id="customers_get", responses=CustomerSerializer)
    def get(self, request, pk: int):
        return _customer_response(customer_for(request, pk, VIEW))


class SettingsBody(serializers.Serializer):
    credit_management = serializers.BooleanField()
    alert_threshold = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


class CustomerSettings(ApiView):
    @extend_schema(
        operation_id="customers_settings", request=SettingsBody, responses=CustomerSerializer
    )
    def post(self, request, pk: int):
        """Switch Credit Management on or off and set the alert threshold (K1)."""
        customer = customer_for(request, pk, CHANGE)
        if not isinstance(self.body().get("credit_management"), bool):
            raise BodyInvalid(
                {"credit_management": ["Send true to switch Credit Management on, false for off."]}
            )
        data = self.parsed(CustomerSettingsForm)
        customer = services.customer_settings_update(actor=request.user, customer=customer, **data)
        return _customer_response(customer)


class CustomerServices(ApiView):
    @extend_schema(
        operation_id="customers_services_list",
        parameters=CURSOR_PARAMETERS,
        responses=page_of(AssignmentSerializer, "AssignmentPage"),
    )
    def get(self, request, pk: int):
        """The services assigned to the customer (C3)."""
        customer = customer_for(request, pk, VIEW)
        return self.page(
            selectors.customer_assignment_list(customer=customer),
            ordering=("service__name", "id"),
            serializer=AssignmentSerializer,
        )

    @extend_schema(
        operation_id="customers_services_add",
        request=ServicesAddBody,
        responses={201: AssignmentSerializer(many=True)},
    )
    def post(self, request, pk: int):
        """Assign published services to the customer."""
        customer = customer_for(request, pk, CHANGE)
        data = self.parsed(ServicesAddForm, customer=customer)
        added = services.customer_services_add(
            actor=request.user, customer=customer, services=list(data["services"])
        )
        return Response(AssignmentSerializer(added, many=True).data, status=201)


class CustomerServiceRemove(ApiView):
    @extend_schema(operation_id="customers_services_remove", responses={204: None})
    def delete(self, request, pk: int, service_pk: int):
        """Unassign a service: it leaves every marketplace of the customer."""
        customer = customer_for(request, pk, CHANGE)
        assignment = get_visible_or_404(
            request.user,
            selectors.customer_assignment_list(customer=customer),
            service_id=service_pk,
        )
        services.customer_service_remove(
            actor=request.user, customer=customer, service=assignment.service
        )
        return Response(status=204)


class CustomerAdministrators(ApiView):
    @extend_schema(
        operation_id="customers_administrators_list",
        parameters=CURSOR_PARAMETERS,
        responses=page_of(AdministratorSerializer, "AdministratorPage"),
    )
    def get(self, request, pk: int):
        customer = customer_for(request, pk, VIEW)
        return self.page(
            selectors.customer_admin_list(customer=customer).select_related("user"),
            ordering=("user__last_name", "user__first_name", "id"),
            serializer=AdministratorSerializer,
        )

    @extend_schema(
        operation_id="customers_administrators_add",
        request=AdministratorAddBody,
        responses={201: AdministratorSerializer},
    )
    def post(self, request, pk: int):
        """Name a person of the customer's company as administrator (C2)."""
        customer = customer_for(request, pk, CHANGE)
        data = self.parsed(AdministratorAddForm, customer=customer)
        admin = services.customer_admin_add(
            actor=request.user, customer=customer, person=data["person"]
        )
        return Response(AdministratorSerializer(admin).data, status=201)


class CustomerAdministratorRemove(ApiView):
    @extend_schema(operation_id="customers_administrators_remove", responses={204: None})
    def delete(self, request, pk: int, admin_pk: int):
        """Remove an administrator; the last one is refused (C2)."""
        customer = customer_for(request, pk, CHANGE)
        administrator = get_visible_or_404(
            request.user, selectors.customer_admin_list(customer=customer), pk=admin_pk
        )
        services.customer_admin_remove(
            actor=request.user, customer=customer, administrator=administrator
        )
        return Response(status=204)


def _filter_values(body: dict) -> dict:
    """A JSON body's attribute lists as the page's form reads them (one value or a list)."""
    data = dict(body)
    for name, _label in FILTER_ATTRIBUTES:
        value = data.get(name)
        if value is not None and not isinstance(value, list):
            data[name] = [value]
    return data


class CustomerEndUserFilters(ApiView):
    @extend_schema(
        operation_id="customers_end_user_filters_list",
        parameters=CURSOR_PARAMETERS,
        responses=page_of(EndUserFilterSerializer, "EndUserFilterPage"),
    )
    def get(self, request, pk: int):
        """The filters on ITSM attributes that bring in the customer's end users (C4)."""
        customer = customer_for(request, pk, VIEW)
        return self.page(
            customer.user_filters.all(),
            ordering=("name", "id"),
            serializer=EndUserFilterSerializer,
        )

    @extend_schema(
        operation_id="customers_end_user_filters_add",
        request=EndUserFilterBody,
        responses={201: EndUserFilterSerializer},
    )
    def post(self, request, pk: int):
        """Add a filter and apply the customer's filters at once (C4)."""
        customer = customer_for(request, pk, CHANGE)
        values = selectors.filter_attribute_values(company_id=customer.company_id)
        form = EndUserFilterForm(_filter_values(self.body()), attribute_values=values)
        data = self.parsed_form(form)
        user_filter = services.end_user_filter_save(
            actor=request.user, customer=customer, name=data["name"], criteria=form.criteria
        )
        return Response(EndUserFilterSerializer(user_filter).data, status=201)


class CustomerEndUserFilterDelete(ApiView):
    @extend_schema(operation_id="customers_end_user_filters_delete", responses={204: None})
    def delete(self, request, pk: int, filter_pk: int):
        customer = customer_for(request, pk, CHANGE)
        user_filter = get_visible_or_404(request.user, customer.user_filters.all(), pk=filter_pk)
        services.end_user_filter_delete(
            actor=request.user, customer=customer, user_filter=user_filter
        )
        return Response(status=204)
