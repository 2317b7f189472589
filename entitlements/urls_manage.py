"""URLs of customer administrators (and MSP staff acting as a customer): home, marketplaces, access."""

from django.urls import path

from . import views_manage as views

app_name = "entitlements"
urlpatterns = [
    path("overview/", views.home, name="home"),
    path("marketplaces/", views.marketplace_list_view, name="marketplace_list"),
    path("marketplaces/new/", views.marketplace_create, name="marketplace_create"),
    path("marketplaces/<int:pk>/", views.marketplace_detail, name="marketplace_detail"),
    path("marketplaces/<int:pk>/rename/", views.marketplace_rename, name="marketplace_rename"),
    path("marketplaces/<int:pk>/delete/", views.marketplace_delete, name="marketplace_delete"),
    path(
        "marketplaces/<int:pk>/service-options/",
        views.marketplace_service_options,
        name="marketplace_service_options",
    ),
    path(
        "marketplaces/<int:pk>/services/add/",
        views.marketplace_services_add,
        name="marketplace_services_add",
    ),
    path(
        "marketplaces/<int:pk>/services/<int:service_pk>/remove/",
        views.marketplace_service_remove,
        name="marketplace_service_remove",
    ),
    path("marketplaces/<int:pk>/audience/add/", views.audience_rule_add, name="audience_rule_add"),
    path(
        "marketplaces/<int:pk>/audience/<int:rule_pk>/remove/",
        views.audience_rule_remove,
        name="audience_rule_remove",
    ),
    path("end-user-options/", views.end_user_options, name="end_user_options"),
    path("department-options/", views.department_options, name="department_options"),
    path("access/", views.access_by_user, name="access_by_user"),
    path("access/explain/", views.explain, name="explain"),
]
