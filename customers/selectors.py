"""Reads of customers and MSP mode requests."""

from django.db.models import QuerySet

from .models import MspModeRequest


def msp_request_list() -> QuerySet[MspModeRequest]:
    """MSP mode requests (tickets), newest first."""
    return MspModeRequest.objects.select_related("requested_by").order_by("-requested_at", "-id")
