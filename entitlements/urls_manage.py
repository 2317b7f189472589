"""URLs of customer administrators (and MSP staff acting as a customer): home, marketplaces, access."""

from django.urls import path  # noqa: F401

app_name = "entitlements"
urlpatterns: list = []
