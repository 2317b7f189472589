from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.service_list, name="service_list"),
    path("services/new/", views.service_create, name="service_create"),
    path("services/<int:pk>/", views.service_edit, name="service_edit"),
    path("services/<int:pk>/questions/", views.question_add, name="question_add"),
    path(
        "services/<int:pk>/questions/<int:question_pk>/", views.question_edit, name="question_edit"
    ),
    path(
        "services/<int:pk>/questions/<int:question_pk>/delete/",
        views.question_delete,
        name="question_delete",
    ),
    path(
        "services/<int:pk>/questions/<int:question_pk>/move/",
        views.question_move,
        name="question_move",
    ),
    path("services/<int:pk>/preview/", views.question_preview, name="question_preview"),
    path("categories/", views.category_list, name="category_list"),
    path("categories/<int:pk>/", views.category_edit, name="category_edit"),
]
