"""Who may open each URL of this area; merged into tests/security/access.py's ACCESS.

The ITSM sync pages and the mirror directories are MSP staff's: system and catalog
administrators. Customer administrators and end users, whatever their company, get 403.
"""

from .access import MSP_STAFF, POSTED, Access


def _finished_run(w) -> dict:
    """A finished people sync, as a scheduled run leaves it."""
    from django.utils import timezone

    from itsm_sync.models import SyncKind, SyncRun, SyncStatus

    run = SyncRun.objects.create(
        kind=SyncKind.PEOPLE,
        status=SyncStatus.SUCCEEDED,
        finished_at=timezone.now(),
        seen=3,
        unchanged=3,
    )
    return {"pk": run.pk}


def _a_person(w) -> dict:
    return {"pk": w["a"]["eve"].person_id}


ACCESS: dict[str, Access] = {
    "itsm_sync:run_list": Access(MSP_STAFF),
    # An empty POST starts nothing: the page answers with a message and a redirect.
    "itsm_sync:run_start": Access(MSP_STAFF, method="post", ok=POSTED),
    "itsm_sync:run_detail": Access(MSP_STAFF, kwargs=_finished_run),
    # A finished run can't be approved: the service refuses, the page says so and redirects.
    "itsm_sync:run_approve": Access(MSP_STAFF, kwargs=_finished_run, method="post", ok=POSTED),
    "itsm_sync:company_list": Access(MSP_STAFF),
    "itsm_sync:company_detail": Access(MSP_STAFF, kwargs=lambda w: {"pk": w["a"]["company"].pk}),
    "itsm_sync:person_list": Access(MSP_STAFF),
    "itsm_sync:company_options": Access(MSP_STAFF),
    "itsm_sync:person_detail": Access(MSP_STAFF, kwargs=_a_person),
}
