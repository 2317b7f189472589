"""The caller's own notifications (the bell): list them, newest first, and mark them read. The
notification pages' selectors and services (credits/); anyone else's notification is a 404."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from credits import selectors, services
from msp_portal.tenancy import get_visible_or_404

from .base import CURSOR_PARAMETERS, ApiView, page_of


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField(help_text="The portal page it is about (a path), or empty.")
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationList(ApiView):
    @extend_schema(
        operation_id="notifications_list",
        parameters=[
            *CURSOR_PARAMETERS,
            OpenApiParameter("unread", OpenApiTypes.BOOL, description="true: unread ones only."),
        ],
        responses=page_of(NotificationSerializer, "NotificationPage"),
    )
    def get(self, request):
        """The caller's own notifications, newest first."""
        unread_only = request.query_params.get("unread", "").lower() in ("1", "true")
        return self.page(
            selectors.notification_list(user=request.user, unread_only=unread_only),
            ordering=("-created_at", "-id"),
            serializer=NotificationSerializer,
        )


class NotificationRead(ApiView):
    @extend_schema(
        operation_id="notifications_read", request=None, responses=NotificationSerializer
    )
    def post(self, request, pk: int):
        """Mark one of the caller's notifications read."""
        notification = get_visible_or_404(
            request.user, selectors.notification_list(user=request.user), pk=pk
        )
        notification = services.notification_read(user=request.user, notification=notification)
        return Response(NotificationSerializer(notification).data)


class NotificationReadAll(ApiView):
    @extend_schema(
        operation_id="notifications_read_all",
        request=None,
        responses=inline_serializer("NotificationsMarked", {"marked": serializers.IntegerField()}),
    )
    def post(self, request):
        """Mark all of the caller's unread notifications read; says how many."""
        return Response({"marked": services.notifications_read_all(user=request.user)})
