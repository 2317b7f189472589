from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [
    path("", views.endpoint_list, name="endpoint_list"),
    path("add/", views.endpoint_add, name="endpoint_add"),
    path("<int:pk>/", views.endpoint_detail, name="endpoint_detail"),
    path("<int:pk>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path("<int:pk>/remove/", views.endpoint_remove, name="endpoint_remove"),
    path("<int:pk>/secret/", views.endpoint_secret_reveal, name="endpoint_secret_reveal"),
    path("<int:pk>/secret/rotate/", views.endpoint_secret_rotate, name="endpoint_secret_rotate"),
    path("deliveries/<int:pk>/resend/", views.delivery_resend, name="delivery_resend"),
]
