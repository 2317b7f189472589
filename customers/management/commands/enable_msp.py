"""Switch MSP mode on (or off again, while no customer was ever added) from the command line,
or print the readiness checklist."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers import selectors, services
from customers.models import MspModeRequest
from customers.readiness import msp_readiness


class Command(BaseCommand):
    help = (
        "Switch MSP mode on. --check prints the readiness checklist and exits 0 when ready, 1 "
        "when not. In a SaaS deployment, fulfil a request with --ticket N. --disable switches it "
        "off again, possible only while no customer has ever been added."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="only print the checklist")
        parser.add_argument("--ticket", type=int, help="fulfil this MSP mode request (SaaS)")
        parser.add_argument(
            "--list-requests", action="store_true", help="list MSP mode requests for operators"
        )
        parser.add_argument(
            "--disable",
            action="store_true",
            help="switch MSP mode off again (only while no customer has ever been added)",
        )

    def handle(
        self,
        *args,
        check: bool,
        ticket: int | None,
        list_requests: bool,
        disable: bool,
        **options,
    ):
        if list_requests:
            return self._list_requests()
        if disable:
            return self._disable()
        readiness = msp_readiness()
        self._print_checklist(readiness)
        if check:
            if not readiness.ready:
                raise CommandError("Not ready: fix the items marked FAIL above.", returncode=1)
            self.stdout.write(self.style.SUCCESS("Ready: MSP mode can be switched on."))
            return
        request = None
        if ticket is not None:
            request = MspModeRequest.objects.filter(pk=ticket).first()
            if request is None:
                raise CommandError(
                    f"There is no MSP mode request #{ticket}. "
                    "List them with `enable_msp --list-requests`.",
                    returncode=1,
                )
        try:
            services.msp_enable(actor=None, ticket=request)
        except services.MspEnableRefused as refused:
            for message in refused.messages:
                self.stderr.write(f"  - {message}")
            raise CommandError("MSP mode was not switched on.", returncode=1) from refused
        self.stdout.write(self.style.SUCCESS("MSP mode: enabled"))

    def _disable(self) -> None:
        try:
            services.msp_disable(actor=None)
        except services.MspDisableRefused as refused:
            for message in refused.messages:
                self.stderr.write(f"  - {message}")
            raise CommandError("MSP mode was not switched off.", returncode=1) from refused
        self.stdout.write(self.style.SUCCESS("MSP mode: disabled"))

    def _print_checklist(self, readiness) -> None:
        self.stdout.write("MSP mode readiness:")
        for criterion in readiness.criteria:
            mark = self.style.SUCCESS("PASS") if criterion.passed else self.style.ERROR("FAIL")
            self.stdout.write(f"  [{mark}] {criterion.label}: {criterion.detail}")
            if not criterion.passed and criterion.remedy:
                self.stdout.write(f"         What to do: {criterion.remedy}")

    def _list_requests(self) -> None:
        requests = list(selectors.msp_request_list()[:50])
        if not requests:
            self.stdout.write("No MSP mode requests.")
        for r in requests:
            who = r.requested_by.get_username() if r.requested_by else "?"
            self.stdout.write(
                f"#{r.pk}  {r.get_status_display():<9}  {r.requested_at:%Y-%m-%d %H:%M}  "
                f"{who}  {r.note[:60]}"
            )
