from django.urls import path

from . import views

app_name = "credits"
urlpatterns = [
    path("", views.account_list, name="account_list"),
    path("customers/<int:pk>/", views.account_detail, name="account_detail"),
    path("customers/<int:pk>/ledger.csv", views.ledger_export, name="ledger_export"),
    path("customers/<int:pk>/grant/", views.account_grant, name="grant"),
    path("customers/<int:pk>/adjust/", views.account_adjust, name="adjust"),
    path("customers/<int:pk>/hard-limit/", views.account_hard_limit, name="hard_limit"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/menu/", views.notification_menu, name="notification_menu"),
    path("notifications/read-all/", views.notification_read_all, name="notification_read_all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
]
