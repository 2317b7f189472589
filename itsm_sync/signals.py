"""Signals the ITSM mirror sends so higher layers can follow it without itsm_sync importing them.

The layers only import downward (DESIGN.md §4), so itsm_sync cannot call accounts, customers or
entitlements. It announces what changed instead; those apps connect receivers in their
`AppConfig.ready()`. Both signals are sent after the change has been committed, so a receiver
always reads the new state and a rolled-back page never announces anything.

- `person_company_changed(sender=Person, person_id, old_company_id, new_company_id)`: an ITSM
  person now belongs to another company (sent by `services.person_move_company`, the one place a
  move happens). `person_id` is `Person.pk` (not the ITSM "Person ID", which is
  `Person.person_id`); the company ids are `Company.pk`. Accounts moves the linked user here,
  and customers ends an administrator role that belonged to the old company (C2). Entitlements
  needs no receiver: access is decided on every page from the user's current company (E2), so
  what the old company granted is gone on the next page.
- `sync_run_finished(sender=SyncRun, run)`: a run ended (succeeded, partial, failed or
  needs_approval), or an approved plan was applied. Customers re-evaluates end-user filters on
  every people sync here (C4).
"""

from django.dispatch import Signal

person_company_changed = Signal()
sync_run_finished = Signal()
