from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.service_list, name="service_list"),
    path("services/new/", views.service_create, name="service_create"),
    path("services/<int:pk>/", views.service_edit, name="service_edit"),
    path("categories/", views.category_list, name="category_list"),
    path("categories/<int:pk>/", views.category_edit, name="category_edit"),
]
