from django.urls import path

from . import views

app_name = "fulfilment"

urlpatterns = [
    path("", views.push_list, name="push_list"),
    path("<int:pk>/retry/", views.push_retry, name="push_retry"),
    path("services/<int:pk>/", views.settings_edit, name="settings_edit"),
    path("requests/<int:pk>/check/", views.request_refresh, name="request_refresh"),
]
