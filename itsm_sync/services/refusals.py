"""People a finished run mirrored that a higher layer then refused, kept on the run (S2).

A people sync ends before the portal gives the people it brought in their accounts (customers
does that when `sync_run_finished` arrives). A person the mirror accepted can still be refused
there: a Remedy Login ID that can't be a portal username, a login taken by another account.
The higher layer reports them here, so the run's page lists them among its rejected records,
each with its reason and its values, and its outcome says how many got no account.
"""

from django.db import transaction

from ..models import Person, RejectedRecord, SyncRun

# What the mirror holds of a person, under its AR field names (as the run's page shows them).
_AR_NAMES = {
    "person_id": "Person ID",
    "remedy_login_id": "Remedy Login ID",
    "first_name": "First Name",
    "last_name": "Last Name",
    "email": "Internet E-mail",
    "organization": "Organization",
    "department": "Department",
    "region": "Region",
    "site_group": "Site Group",
    "site": "Site",
    "client_type": "Client Type",
    "profile_status": "Profile Status",
}
_REASON_MAX = RejectedRecord._meta.get_field("reason").max_length


def _values(person: Person) -> dict[str, str]:
    values = {ar: getattr(person, column) for column, ar in _AR_NAMES.items()}
    values["Company"] = person.company.name if person.company_id else ""
    return values


def sync_run_people_refused(*, run_id: int, refused: list[tuple[Person, str]], what: str) -> int:
    """Keep people of a finished run that were refused after it (`what` they did not get) as the
    run's rejected records, and say so in its message; returns how many were kept."""
    if not refused:
        return 0
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:  # pruned from the history meanwhile
            return 0
        RejectedRecord.objects.bulk_create(
            RejectedRecord(
                run=run,
                key=person.person_id,
                reason=reason if len(reason) <= _REASON_MAX else reason[: _REASON_MAX - 1] + "…",
                raw=_values(person),
            )
            for person, reason in refused
        )
        count = len(refused)
        note = (
            f"{count} {'person' if count == 1 else 'people'} got no {what}: see Rejected records "
            "for why, and correct them in ITSM; the next people sync picks them up."
        )
        run.rejected += count
        run.message = f"{run.message} {note}".strip()
        run.save(update_fields=["rejected", "message"])
    return count
