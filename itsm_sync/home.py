"""The staff home's ITSM tile: how the last sync went (msp_portal.views.HOME_TILES)."""

from django.http import HttpRequest
from django.urls import reverse

from .models import SyncStatus
from .selectors import sync_run_list

_TONE = {
    SyncStatus.FAILED: "danger",
    SyncStatus.PARTIAL: "warning",
    SyncStatus.NEEDS_APPROVAL: "warning",
}


def home_tiles(request: HttpRequest) -> list[dict]:
    """The last real (not dry) sync run, for those who may read the sync runs."""
    if not request.user.has_perm("itsm_sync.view_syncrun"):
        return []
    run = sync_run_list(user=request.user, dry_run=False).first()
    tile = {
        "key": "last-sync",
        "order": 40,
        "label": "Last ITSM sync",
        "url": reverse("itsm_sync:run_list"),
    }
    if run is None:
        return [
            {
                **tile,
                "value": "No sync yet",
                "detail": "Start one from ITSM sync.",
                "when": None,
                "tone": "warning",
            }
        ]
    return [
        {
            **tile,
            "value": run.get_status_display(),
            "detail": f"{run.get_kind_display()}, started",
            "when": run.started_at,
            "tone": _TONE.get(run.status, ""),
        }
    ]
