from django.urls import path

from . import views

app_name = "approvals"

urlpatterns = [
    path("", views.approval_list, name="approval_list"),
    path("count/", views.approval_count, name="approval_count"),
    path("requests/<int:pk>/decide/", views.approval_decide, name="approval_decide"),
    path("requests/<int:pk>/email/<str:token>/", views.link_confirm, name="link_confirm"),
]
