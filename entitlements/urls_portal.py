"""URLs of end users (the catalog, requests) and of request handling."""

from django.urls import path  # noqa: F401

app_name = "portal"
urlpatterns: list = []
