"""The catalog in the Django admin; every write goes through catalog.services, which audits it."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from msp_portal.admin import AuditedModelAdmin

from . import services
from .models import Category, Service

SERVICE_FIELDS = ["name", "category", "description", "price", "min_quantity", "max_quantity"]


class NoDeleteAdmin(AuditedModelAdmin):
    """Catalog entries are never deleted: services are retired, categories renamed."""

    writes_through_services = True

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Category)
class CategoryAdmin(NoDeleteAdmin):
    list_display = ["name", "description", "updated_at"]
    search_fields = ["name"]
    fields = ["name", "description"]
    show_full_result_count = False

    def save_model(self, request, obj: Category, form, change: bool) -> None:
        values = {field: form.cleaned_data[field] for field in self.fields}
        if change:
            services.category_update(actor=request.user, category=obj, **values)
        else:
            obj.pk = services.category_create(actor=request.user, **values).pk


@admin.register(Service)
class ServiceAdmin(NoDeleteAdmin):
    """Status changes are actions (publish, retire), so that the allowed transitions hold here too."""

    list_display = ["name", "category", "status", "price", "min_quantity", "max_quantity"]
    list_filter = ["status", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["category"]
    fields = [*SERVICE_FIELDS, "status", "created_at", "updated_at"]
    readonly_fields = ["status", "created_at", "updated_at"]
    actions = ["publish", "retire"]
    show_full_result_count = False

    def save_model(self, request, obj: Service, form, change: bool) -> None:
        values = {field: form.cleaned_data[field] for field in SERVICE_FIELDS}
        if change:
            services.service_update(actor=request.user, service=obj, **values)
        else:
            obj.pk = services.service_create(actor=request.user, **values).pk

    def _transition(self, request: HttpRequest, queryset: QuerySet[Service], action) -> None:
        done = 0
        for service in queryset:
            try:
                action(actor=request.user, service=service)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} service(s) changed.", messages.SUCCESS)

    @admin.action(description="Publish selected services", permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        self._transition(request, queryset, services.service_publish)

    @admin.action(description="Retire selected services", permissions=["change"])
    def retire(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        self._transition(request, queryset, services.service_retire)
