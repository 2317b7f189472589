"""Sync the ITSM mirror now, dry-run it, or approve a run that stopped for approval.

Exit status: 0 when every run succeeded, 1 when one failed or stopped part-way, 2 when a full
reconcile waits for approval, 3 when a run of the same kind is already going.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from itsm_sync import services
from itsm_sync.models import SyncKind, SyncRun, SyncStatus
from itsm_sync.sources import ARRestSource, FileSource, SourceConfig, SourceError, open_source

OPERATOR = "operator (command line)"
EXIT_FAILED, EXIT_NEEDS_APPROVAL, EXIT_ALREADY_RUNNING = 1, 2, 3
LISTED = 20


class Command(BaseCommand):
    help = (
        "Mirror ITSM companies and people from the AR System REST API (ITSM_URL) or a JSON "
        "export: incrementally (default), as a full reconcile (--full) or as a dry run that "
        "only plans (--dry-run); --approve RUN_ID applies a plan that waits for approval."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--companies", action="store_true", help="sync companies only")
        which.add_argument("--people", action="store_true", help="sync people only")
        which.add_argument(
            "--all", action="store_true", help="companies, then people (the default)"
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="read everything and deactivate what the source no longer lists (S3 guarded)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="plan only: show what a real run would change"
        )
        parser.add_argument(
            "--source",
            choices=["ar", "file"],
            help="ar: ITSM_URL; file: --file or ITSM_FILE (default: ITSM_FILE if set, else ar)",
        )
        parser.add_argument("--file", metavar="PATH", help="a JSON export to read (implies file)")
        parser.add_argument(
            "--approve",
            type=int,
            metavar="RUN_ID",
            help="apply the kept plan of a run that needs approval, then exit",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verbosity"] < 2:
            # A log line per HTTP request and per run repeats the summary; -v 2 shows them.
            logging.getLogger("httpx").setLevel(logging.WARNING)
            logging.getLogger("itsm_sync").setLevel(logging.WARNING)
        self.interactive = sys.stderr.isatty() and options["verbosity"] > 0
        if options["approve"] is not None:
            self._exit_for([self._approve(options["approve"])])
            return
        kinds = self._kinds(options)
        source = self._source(options)
        runs: list[SyncRun] = []
        with source:
            for kind in kinds:
                run = self._sync(kind, source, full=options["full"], dry_run=options["dry_run"])
                runs.append(run)
                if (
                    kind == SyncKind.COMPANIES
                    and run.status
                    in (
                        SyncStatus.FAILED,
                        SyncStatus.PARTIAL,
                    )
                    and SyncKind.PEOPLE in kinds
                ):
                    self.stderr.write(
                        "People were not synced: the companies sync did not complete, and "
                        "people of missing companies would only be rejected."
                    )
                    break
        self._report(runs)
        self._exit_for(runs)

    # -- steps ----------------------------------------------------------------------------

    def _kinds(self, options: dict[str, Any]) -> list[str]:
        if options["companies"]:
            return [SyncKind.COMPANIES]
        if options["people"]:
            return [SyncKind.PEOPLE]
        return [SyncKind.COMPANIES, SyncKind.PEOPLE]

    def _source(self, options: dict[str, Any]) -> ARRestSource | FileSource:
        try:
            config = SourceConfig.from_env()
            if options["file"] or options["source"] == "file":
                path = options["file"] or config.file
                if not path:
                    raise CommandError(
                        "--source file needs a JSON export: pass --file PATH or set ITSM_FILE."
                    )
                return FileSource(path, page_size=config.page_size, overlap=config.overlap)
            if options["source"] == "ar":
                return ARRestSource(config)
            return open_source(config)
        except SourceError as exc:
            raise CommandError(str(exc), returncode=EXIT_FAILED) from exc

    def _sync(self, kind: str, source: Any, *, full: bool, dry_run: bool) -> SyncRun:
        service = services.sync_companies if kind == SyncKind.COMPANIES else services.sync_people
        progress = _Progress(sys.stderr, kind) if self.interactive else None
        try:
            run = service(
                source=source,
                full=full,
                dry_run=dry_run,
                actor_label=OPERATOR,
                progress=progress,
            )
        except services.SyncAlreadyRunning as exc:
            raise CommandError(str(exc), returncode=EXIT_ALREADY_RUNNING) from exc
        finally:
            if progress is not None:
                progress.close()
        return run

    def _approve(self, run_id: int) -> SyncRun:
        run = SyncRun.objects.filter(pk=run_id).first()
        if run is None:
            raise CommandError(f"There is no sync run #{run_id}; see the ITSM sync page.")
        progress = _Progress(sys.stderr, run.kind) if self.interactive else None
        try:
            run = services.sync_run_approve(
                actor=None, run=run, actor_label=OPERATOR, progress=progress
            )
        except services.SyncAlreadyRunning as exc:
            raise CommandError(str(exc), returncode=EXIT_ALREADY_RUNNING) from exc
        except services.SyncApprovalRefused as exc:
            raise CommandError(str(exc), returncode=EXIT_FAILED) from exc
        finally:
            if progress is not None:
                progress.close()
        self._report([run])
        return run

    # -- output ---------------------------------------------------------------------------

    def _report(self, runs: list[SyncRun]) -> None:
        headers = (
            "run",
            "kind",
            "mode",
            "status",
            "seen",
            "created",
            "updated",
            "unchanged",
            "deactivated",
            "rejected",
            "pages",
            "seconds",
            "rows/s",
        )
        table = [headers]
        for run in runs:
            dry = run.dry_run
            table.append(
                (
                    f"#{run.pk}",
                    run.kind,
                    run.mode_label,
                    run.status,
                    str(run.seen),
                    f"({run.planned_creates})" if dry else str(run.created),
                    f"({run.planned_updates})" if dry else str(run.updated),
                    str(run.unchanged),
                    f"({run.planned_deactivations})"
                    if dry or run.status == SyncStatus.NEEDS_APPROVAL
                    else str(run.deactivated),
                    str(run.rejected),
                    str(run.pages),
                    f"{run.duration.total_seconds():.1f}" if run.duration else "",
                    f"{run.rows_per_s:,.0f}" if run.rows_per_s else "",
                )
            )
        widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
        self.stdout.write("")
        for index, row in enumerate(table):
            cells = [
                cell.ljust(width) if i < 4 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            self.stdout.write("  ".join(cells).rstrip())
            if index == 0:
                self.stdout.write("  ".join("-" * width for width in widths))
        if any(run.dry_run for run in runs):
            self.stdout.write("(n) = planned by the dry run; nothing was changed.")
        for run in runs:
            self._details(run)

    def _details(self, run: SyncRun) -> None:
        label = f"Run #{run.pk} ({run.kind})"
        if run.error:
            self.stderr.write(self.style.ERROR(f"{label}: {run.error}"))
        if run.message:
            style = (
                self.style.WARNING
                if run.status == SyncStatus.NEEDS_APPROVAL or run.dry_run
                else self.style.SUCCESS
            )
            self.stdout.write(style(f"{label}: {run.message}"))
        if run.rejected:
            self.stdout.write(f"{label} rejected {run.rejected} record(s):")
            for record in run.rejected_records.order_by("id")[:LISTED]:
                self.stdout.write(f"  {record.key or '(no key)'}: {record.reason}")
            if run.rejected > LISTED:
                self.stdout.write(
                    f"  … and {run.rejected - LISTED} more on the run's page in the portal."
                )
        if run.dry_run and (
            run.planned_creates or run.planned_updates or run.planned_deactivations
        ):
            self.stdout.write(f"{label} plan (first {LISTED}):")
            for change in run.planned_changes.order_by("id")[:LISTED]:
                fields = ", ".join(
                    f"{name}: {before!r} → {after!r}"
                    for name, (before, after) in change.changes.items()
                    if change.action != "create" or name in ("name", "last_name", "company")
                )
                self.stdout.write(f"  {change.action:<10} {change.key}  {fields}")

    def _exit_for(self, runs: list[SyncRun]) -> None:
        if any(run.status in (SyncStatus.FAILED, SyncStatus.PARTIAL) for run in runs):
            raise CommandError("The ITSM sync did not complete; see above.", returncode=EXIT_FAILED)
        if any(run.status == SyncStatus.NEEDS_APPROVAL for run in runs):
            raise CommandError(
                "A full reconcile is waiting for approval; see above.",
                returncode=EXIT_NEEDS_APPROVAL,
            )


class _Progress:
    """A one-line progress display on a terminal; totals are unknown, so it counts and times."""

    def __init__(self, stream: Any, kind: str) -> None:
        self.stream = stream
        self.kind = kind
        self.started = time.monotonic()
        self.width = 0
        self.spinner = 0

    def __call__(self, run: SyncRun) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        if run.active_before:
            # A full run reads about as many records as the mirror holds: a fair estimate.
            done = min(run.seen / run.active_before, 1.0)
            filled = int(done * 20)
            head = f"[{'#' * filled}{'.' * (20 - filled)}] {done:4.0%}"
        else:
            frames = "|/-\\"
            self.spinner = (self.spinner + 1) % len(frames)
            head = frames[self.spinner]
        text = (
            f"{head} {self.kind}: page {run.pages}, {run.seen:,} read, "
            f"+{run.created + run.planned_creates:,} ~{run.updated + run.planned_updates:,} "
            f"✗{run.rejected:,}  {run.seen / elapsed:,.0f} rows/s"
        )
        self.width = max(self.width, len(text))
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()

    def close(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
