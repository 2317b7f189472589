"""Run the AR System REST API simulator until Ctrl-C, or write its dataset as an export file."""

from __future__ import annotations

import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from itsm_sync.simulator import COMPANY_FORM, PEOPLE_FORM, Faults, Simulator, generate_dataset
from itsm_sync.simulator.data import DEFAULT_PASSWORD, DEFAULT_USER
from itsm_sync.sources import write_export


class Command(BaseCommand):
    help = (
        "Serve a simulated BMC AR System REST API (COM:Company, CTM:People) with generated, "
        "deterministic data and optional fault injection; --export writes the data to a file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8008)
        parser.add_argument("--companies", type=int, default=40)
        parser.add_argument("--people", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--user", default=DEFAULT_USER)
        parser.add_argument("--password", default=DEFAULT_PASSWORD)
        parser.add_argument(
            "--fail-list-request",
            type=int,
            default=None,
            metavar="N",
            help="answer the Nth list request with HTTP 500 (once)",
        )
        parser.add_argument(
            "--delay-ms", type=int, default=0, metavar="N", help="delay every API call by N ms"
        )
        parser.add_argument(
            "--expire-tokens-after",
            type=int,
            default=None,
            metavar="N",
            help="invalidate each token after N authenticated requests",
        )
        parser.add_argument(
            "--malformed",
            type=int,
            default=0,
            metavar="K",
            help="serve the first K records of every listing corrupted",
        )
        parser.add_argument(
            "--max-entries",
            type=int,
            default=2000,
            metavar="N",
            help="at most N entries a page, whatever limit asks (AR's Max Entries Returned by "
            "GetList; 0: no cap)",
        )
        parser.add_argument(
            "--token-lifetime",
            type=int,
            default=3600,
            metavar="S",
            help="a token expires S seconds after its login (0: never by time)",
        )
        parser.add_argument(
            "--older-server",
            action="store_true",
            help="behave like AR before 19.08: refuse ISO-8601 date literals in a qualification",
        )
        parser.add_argument(
            "--export",
            metavar="PATH",
            help="write the generated dataset as a JSON export (ITSM_FILE) and exit",
        )
        parser.add_argument("--verbose-http", action="store_true", help="log every request")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["companies"] < 1 or options["people"] < 0:
            raise CommandError("--companies must be at least 1 and --people at least 0.")
        if options["export"]:
            dataset = generate_dataset(options["companies"], options["people"], options["seed"])
            path = write_export(options["export"], dataset[COMPANY_FORM], dataset[PEOPLE_FORM])
            self.stdout.write(
                f"Wrote {len(dataset[COMPANY_FORM])} companies and {len(dataset[PEOPLE_FORM])} "
                f"people to {path}. Use it with ITSM_FILE={path}"
            )
            return
        simulator = Simulator(
            companies=options["companies"],
            people=options["people"],
            seed=options["seed"],
            user=options["user"],
            password=options["password"],
            fail_list_request=options["fail_list_request"],
            delay_ms=options["delay_ms"],
            expire_tokens_after=options["expire_tokens_after"],
            malformed=options["malformed"],
            verbose=options["verbose_http"],
        )
        try:
            simulator.set_faults(
                max_entries=options["max_entries"],
                token_lifetime=options["token_lifetime"],
                older_server=int(options["older_server"]),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        try:
            simulator.start(host=options["host"], port=options["port"])
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']} ({exc}); "
                "pick another --port."
            ) from exc
        defaults = vars(Faults())
        faults = {k: v for k, v in vars(simulator.faults).items() if v != defaults[k]}
        self.stdout.write(
            self.style.SUCCESS(f"AR System simulator listening on {simulator.url}")
            + f"\n  user: {simulator.user}  password: {simulator.password}"
            + f"\n  data: {options['companies']} companies, {options['people']} people, "
            f"seed {options['seed']}" + f"\n  settings and faults: {faults or 'as a server ships'} "
            f"(change with POST {simulator.url}/__sim/faults)"
            + f"\n  use: ITSM_URL={simulator.url} ITSM_USER={simulator.user} "
            f"ITSM_PASSWORD={simulator.password}" + "\nPress Ctrl-C to stop."
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            self.stdout.write("Stopping the simulator.")
        finally:
            simulator.stop()
