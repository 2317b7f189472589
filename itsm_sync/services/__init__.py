"""ITSM sync use cases: mirror companies and people page by page, safely (S1–S3).

The pipeline, for each page the source yields (oldest `Last Modified Date` first):

1. validate every record, rejecting with a reason (kept as a RejectedRecord) while the rest of
   the page goes on;
2. de-duplicate keys, the latest `Last Modified Date` winning;
3. plan each record as create, update (with a per-field diff) or unchanged, against the mirror;
4. apply the creates and updates in one transaction per page with a bulk upsert that never
   rewrites an unchanged row (PostgreSQL: COPY into a TEMP staging table, then one
   `INSERT … SELECT … ON CONFLICT … DO UPDATE … WHERE (…) IS DISTINCT FROM (…)` that also
   reports creates, updates and people who changed company, so a run applying as it reads
   plans in that statement; elsewhere `bulk_create(update_conflicts=True)` of the rows found
   changed);
5. advance the watermark only after that commit, so a failed page leaves both the mirror and
   the watermark as they were before it.

Runs that may still need approval cannot apply as they go. A dry run, and a full reconcile
whose deactivations could exceed the S3 limit (more than max(500, 5 %) of active records,
possible only once the mirror holds more than 500 active records), first store their whole plan
as PlannedChange rows; a dry run stops there, a full run then checks the guard and either stops
as `needs_approval` having changed nothing, or applies the stored plan chunk by chunk — so the
plan a dry run shows is exactly what the real run applies. `sync_run_approve` applies a kept
plan later.

Never two runs of one kind at once: a PostgreSQL session advisory lock per kind (it survives
the per-page commits and dies with a killed worker's connection), or a claimed SyncLock row
elsewhere; the refused run raises SyncAlreadyRunning. Companies and people may sync side by
side, but people need their companies mirrored first (the Celery chain runs them in order).

A rejected record does not hold the watermark back (one bad record would otherwise stall every
incremental run); it is kept with its reason and read again by the nightly full reconcile,
which also never deactivates a record the source still lists, valid or not.

Memory stays flat: at any time the process holds the page being written, the next one being
read (a helper thread fetches it meanwhile, and prepares people pages while the database applies
the page before), the mirror's company names (for the people's company lookup) and nothing
more; the keys a full reconcile has seen are SeenKey rows, committed with each page.

The source's listing pages by a keyset on Last Modified Date (see sources), so a record changed
while the run pages is met again later in the same run rather than skipped. Before it plans
deactivations, a full reconcile still asks the source once more, by key, for the active records
its listing did not show; only those the source no longer has are deactivated.

A full run may go in steps (`step_seconds`, set by the Celery tasks from
ITSM_SYNC_STEP_SECONDS): once the step's time is up it pauses, still running, and
`sync_continue` takes it on. Every phase keeps a cursor committed with the work it covers:
the listing (`listed_to`, the source's cursor, with the seen keys), looking again (`looked_up_to`), planning the
deactivations (`phase` turns from reading to applying in the same transaction) and applying
the plan (`applied_to`). So a step that dies is taken on from its last commit, and a step run
twice does nothing the second time. A passing source failure in a later step pauses the run for
the task's retry instead of ending it (`sync_give_up` ends it once the retries are spent).
A paused run keeps new runs of its kind out until its next step is overdue
(ITSM_SYNC_PAUSE_STALE_SECONDS); then the next run closes it as interrupted.

Modules, from the bottom up: `records` (rows with named fields, validation, what differs
between companies and people), `writers` (the upserts), `seen` (keys a full reconcile saw),
`reading` (the read-ahead thread), `locks` (one run per kind), `moves` (a person changing
company), `guard` (S3), `context` (a run in progress and its counters), `pages` (a page
validated and de-duplicated), `mirror` (rows, rejected records and the watermark written),
`plans` (planned, kept and applied), `listing` (the reading phase), `lifecycle` (how a run
ends: paused, finished, failed, durably), `steps` (the runs and their steps), `approval`
(a kept plan approved), `refusals` (people a higher layer refused after a run), `start` (a
sync started by hand). This package exports the use cases the rest of the portal calls.
"""

from msp_portal.errors import NotAllowed

from .approval import SyncApprovalRefused, sync_run_approve
from .guard import GUARD_FRACTION, GUARD_MIN, deactivation_limit
from .lifecycle import RUN_PERMISSION
from .locks import SyncAlreadyRunning
from .moves import person_move_company
from .records import COMPANY_COLUMNS, PERSON_COLUMNS
from .start import SyncRunGoing, sync_run_start
from .steps import sync_companies, sync_continue, sync_give_up, sync_people

__all__ = [
    "COMPANY_COLUMNS",
    "GUARD_FRACTION",
    "GUARD_MIN",
    "PERSON_COLUMNS",
    "RUN_PERMISSION",
    "NotAllowed",
    "SyncAlreadyRunning",
    "SyncApprovalRefused",
    "SyncRunGoing",
    "deactivation_limit",
    "person_move_company",
    "sync_companies",
    "sync_continue",
    "sync_give_up",
    "sync_people",
    "sync_run_approve",
    "sync_run_start",
]
