from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        from msp_portal.tenancy import by_permission, scope_register

        from .models import Category, Question, Service

        # The catalog is shared data: its staff see all of it; end users reach services only
        # through entitlements/access.py.
        scope_register(Service, by_permission("catalog.view_service", "catalog.change_service"))
        # A service's questions: its staff; requesters see them through the service they may request.
        scope_register(Question, by_permission("catalog.view_service", "catalog.change_service"))
        scope_register(Category, by_permission("catalog.view_category", "catalog.change_category"))
