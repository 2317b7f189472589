"""The demo's fulfilment: one service fulfilled as a work order in the in-process AR simulator."""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from catalog.models import Service
from fulfilment.models import FulfilmentMode
from fulfilment.services import fulfilment_settings_for, fulfilment_settings_save


class Command(BaseCommand):
    help = "Fulfil one demo service as a work order (idempotent), and say how to follow it."

    def add_arguments(self, parser):
        parser.add_argument("--service", default="Monitor", help="The service's name.")
        parser.add_argument("--actor", default="catadmin", help="A catalog administrator.")

    def handle(self, *args, service: str, actor: str, **options) -> None:
        found = Service.objects.filter(name=service).first()
        user = get_user_model().objects.filter(username=actor).first()
        if found is None or user is None:
            raise CommandError(f"Run seed_demo first: no service {service!r} or user {actor!r}.")
        if fulfilment_settings_for(found).mode != FulfilmentMode.WORK_ORDER:
            fulfilment_settings_save(
                actor=user, service=found, mode=FulfilmentMode.WORK_ORDER, check_itsm=False
            )
        port = settings.FULFILMENT_DEMO_SIMULATOR_PORT
        where = (
            f"the AR simulator the server starts on port {port}: act as the technician at "
            f"http://127.0.0.1:{port}/__sim/console"
            if port and not os.environ.get("ITSM_URL")
            else "the ITSM at ITSM_URL"
        )
        self.stdout.write(
            f"Fulfilment: a request for {found.name} becomes a work order in {where}; complete "
            "it there, then press “Check now” on the request (a worker's beat reads it back "
            "every FULFILMENT_POLL_SECONDS)."
        )
