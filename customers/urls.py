from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("msp-mode/", views.msp_mode, name="msp_mode"),
]
