from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("external-users/", views.external_user_list, name="external_user_list"),
    path("people-groups/", views.people_group_list, name="people_group_list"),
    path("people-groups/<int:pk>/", views.people_group_edit, name="people_group_edit"),
]
