"""ITSM sync runs (S1–S3): list, one run, start, approve a plan; MSP staff with the sync roles.

Starting and approving are itsm_sync.services' (sync_run_start: refused while a run of that kind
is going or the source is not configured), as on the run list page.
"""

from celery.result import EagerResult
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from itsm_sync import selectors, services
from itsm_sync.forms import RunApproveForm, RunFilterForm, RunStartForm
from itsm_sync.models import SyncKind, SyncStatus

from .base import CURSOR_PARAMETERS, ApiView, page_of
from .permissions import require_perms


def _require(request, perm: str) -> None:
    require_perms(request, perm, refusal="ITSM sync is for MSP staff holding the sync role.")


class RunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=SyncKind.choices)
    mode = serializers.CharField()
    dry_run = serializers.BooleanField()
    status = serializers.ChoiceField(choices=SyncStatus.choices)
    started_by = serializers.CharField(source="started_by_label")
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    seen = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    deactivated = serializers.IntegerField()
    rejected = serializers.IntegerField()
    planned_creates = serializers.IntegerField()
    planned_updates = serializers.IntegerField()
    planned_deactivations = serializers.IntegerField()
    message = serializers.CharField()
    error = serializers.CharField()


class StartBody(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[c for c in RunStartForm.base_fields["kind"].choices])
    full = serializers.BooleanField(required=False)
    dry_run = serializers.BooleanField(required=False)


class StartedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    runs = RunSerializer(many=True)


class ApproveBody(serializers.Serializer):
    confirm = serializers.BooleanField(help_text="true: consent to the plan's deactivations.")


class RunList(ApiView):
    @extend_schema(
        operation_id="sync_runs_list",
        parameters=[
            *CURSOR_PARAMETERS,
            OpenApiParameter("kind", OpenApiTypes.STR, enum=SyncKind.values),
            OpenApiParameter("status", OpenApiTypes.STR, enum=SyncStatus.values),
        ],
        responses=page_of(RunSerializer, "SyncRunPage"),
    )
    def get(self, request):
        """Sync runs, newest first."""
        _require(request, "itsm_sync.view_syncrun")
        form = RunFilterForm(request.query_params)
        return self.page(
            selectors.sync_run_list(user=request.user, **form.filters()),
            ordering=selectors.SYNC_RUN_ORDERING,
            serializer=RunSerializer,
        )

    @extend_schema(
        operation_id="sync_runs_start", request=StartBody, responses={202: StartedSerializer}
    )
    def post(self, request):
        """Start a sync (incremental or full, or a dry run that only plans)."""
        _require(request, "itsm_sync.run_sync")
        data = self.parsed(RunStartForm)
        kind = data["kind"]
        result = services.sync_run_start(
            actor=request.user, kind=kind, full=data["full"], dry_run=data["dry_run"]
        )
        outcome = result.result if isinstance(result, EagerResult) else None
        detail = "Started; GET /api/v1/sync/runs/ shows its progress."
        if isinstance(outcome, dict) and outcome.get("status") == "already_running":
            detail = outcome["message"]
        runs = selectors.sync_run_list(user=request.user).filter(
            kind__in=selectors.kinds_started(kind)
        )[:2]
        return Response(StartedSerializer({"detail": detail, "runs": list(runs)}).data, status=202)


class RunDetail(ApiView):
    @extend_schema(operation_id="sync_runs_get", responses=RunSerializer)
    def get(self, request, pk: int):
        _require(request, "itsm_sync.view_syncrun")
        return Response(RunSerializer(selectors.sync_run_get(user=request.user, run_id=pk)).data)


class RunApprove(ApiView):
    @extend_schema(operation_id="sync_runs_approve", request=ApproveBody, responses=RunSerializer)
    def post(self, request, pk: int):
        """Approve a plan that stopped for its deactivations (S3); it is applied at once."""
        _require(request, "itsm_sync.run_sync")
        run = selectors.sync_run_get(user=request.user, run_id=pk)
        if run.approvable:
            self.parsed(RunApproveForm, run=run)
        run = services.sync_run_approve(actor=request.user, run=run)
        return Response(RunSerializer(run).data)
