"""The audit trail (T3), as the audit page reads and filters it."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as BodyInvalid

from msp_portal.filters import AuditEventFilterSet
from msp_portal.selectors import audit_event_list

from .base import CURSOR_PARAMETERS, ApiView, page_of
from .permissions import require_perms


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_label")
    acting_as = serializers.CharField(source="acting_as_label")
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    message = serializers.CharField()


class AuditEventList(ApiView):
    @extend_schema(
        operation_id="audit_events_list",
        parameters=[
            *CURSOR_PARAMETERS,
            OpenApiParameter("actor", OpenApiTypes.STR),
            OpenApiParameter("action", OpenApiTypes.STR, description="The action's start."),
            OpenApiParameter("object_query", OpenApiTypes.STR),
            OpenApiParameter("date_from", OpenApiTypes.DATE),
            OpenApiParameter("date_to", OpenApiTypes.DATE),
        ],
        responses=page_of(AuditEventSerializer, "AuditEventPage"),
    )
    def get(self, request):
        """Audit events, newest first (system administrators)."""
        require_perms(
            request,
            "msp_portal.view_auditevent",
            refusal="The audit trail is for system administrators.",
        )
        data = {k: v for k, v in request.query_params.items() if k not in ("cursor", "page_size")}
        events = AuditEventFilterSet(data or None, audit_event_list(user=request.user))
        if events.is_bound and not events.is_valid():
            raise BodyInvalid({k: list(v) for k, v in events.form.errors.items()})
        return self.page(
            events.qs,
            ordering=("-at", "-id"),
            serializer=AuditEventSerializer,
        )
