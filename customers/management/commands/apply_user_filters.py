"""Re-evaluate customers' end-user filters: accounts for people who match, deactivation for the rest."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers import services
from customers.models import Customer


class Command(BaseCommand):
    help = (
        "Apply end-user filters of every customer (or one) now; --dry-run shows what would change."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customer", type=int, help="customer id (default: all customers)")
        parser.add_argument("--dry-run", action="store_true", help="change nothing, only report")

    def handle(self, *args, customer: int | None, dry_run: bool, **options):
        customers = Customer.objects.select_related("company").order_by("company__name")
        if customer is not None:
            customers = customers.filter(pk=customer)
            if not customers.exists():
                raise CommandError(f"There is no customer with id {customer}.", returncode=2)
        verb = "would" if dry_run else ""
        for item in customers:
            report = services.end_user_filters_apply(actor=None, customer=item, dry_run=dry_run)
            self.stdout.write(
                f"{report.customer}: {report.matched} matching; {verb} created "
                f"{len(report.created)}, {verb} reactivated {len(report.reactivated)}, "
                f"{verb} deactivated {len(report.deactivated)}".replace("  ", " ")
            )
            for problem in report.problems:
                self.stderr.write(f"  ! {problem}")
