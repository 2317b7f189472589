from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("msp-mode/", views.msp_mode, name="msp_mode"),
    path("", views.customer_list, name="customer_list"),
    path("switch/", views.switch_company, name="switch_company"),
    path("switch/back/", views.switch_back, name="switch_back"),
    path("add/", views.customer_add, name="customer_add"),
    path("pickers/companies/", views.company_options, name="company_options"),
    path("pickers/people/", views.person_options, name="person_options"),
    path("pickers/services/", views.service_options, name="service_options"),
    path("<int:pk>/", views.customer_detail, name="customer_detail"),
    path("<int:pk>/settings/", views.customer_settings, name="customer_settings"),
    path("<int:pk>/services/add/", views.customer_services_add, name="customer_services_add"),
    path(
        "<int:pk>/services/<int:service_pk>/remove/",
        views.customer_service_remove,
        name="customer_service_remove",
    ),
    path("<int:pk>/administrators/add/", views.customer_admin_add, name="customer_admin_add"),
    path(
        "<int:pk>/administrators/<int:admin_pk>/remove/",
        views.customer_admin_remove,
        name="customer_admin_remove",
    ),
    path("<int:pk>/end-users/", views.end_user_list, name="end_user_list"),
    path(
        "<int:pk>/people/<int:user_pk>/invitation/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path("<int:pk>/end-users/filters/new/", views.end_user_filter_edit, name="end_user_filter_add"),
    path(
        "<int:pk>/end-users/filters/<int:filter_pk>/",
        views.end_user_filter_edit,
        name="end_user_filter_edit",
    ),
    path(
        "<int:pk>/end-users/filters/<int:filter_pk>/delete/",
        views.end_user_filter_delete,
        name="end_user_filter_delete",
    ),
]
