"""URLs of end users (the catalog, requests) and of request handling."""

from django.urls import path

from . import views_portal as views

app_name = "portal"
urlpatterns = [
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/<int:pk>/", views.service_detail, name="service_detail"),
    path("catalog/<int:pk>/request/", views.request_create, name="request_create"),
    path("catalog/<int:pk>/questions/", views.request_questions, name="request_questions"),
    path("colleagues/", views.colleague_options, name="colleague_options"),
    path("my-requests/", views.my_requests, name="my_requests"),
    path("my-requests/<int:pk>/cancel/", views.request_cancel, name="request_cancel"),
    path("requests/", views.request_list, name="request_list"),
    path("requests/export.csv", views.request_export, name="request_export"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/transition/", views.request_transition, name="request_transition"),
]
