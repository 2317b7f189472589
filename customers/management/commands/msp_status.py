"""Print whether MSP mode is on, the release and the upgrade history."""

from django.core.management.base import BaseCommand

from msp_portal.installation import running_release
from msp_portal.selectors import installation_get, msp_mode_get, release_change_list


class Command(BaseCommand):
    help = "Print `MSP mode: enabled` or `MSP mode: disabled`, the release and its upgrade history."

    def handle(self, *args, **options):
        mode = msp_mode_get()
        self.stdout.write(f"MSP mode: {'enabled' if mode.enabled else 'disabled'}")
        if mode.enabled:
            self.stdout.write(
                f"Enabled: {mode.enabled_at:%Y-%m-%d %H:%M %Z} by {mode.enabled_by_label}"
            )
        installation = installation_get()
        if installation is None:
            self.stdout.write("Release: not installed (run migrate)")
            return
        self.stdout.write(f"Release: {installation.current_release} (running {running_release()})")
        self.stdout.write(
            f"Installed: {installation.installed_release} on {installation.installed_at:%Y-%m-%d}"
        )
        changes = list(release_change_list())
        if not changes:
            self.stdout.write("Upgrades: none")
        for change in changes:
            self.stdout.write(
                f"Upgrade: {change.from_release} -> {change.to_release} on {change.at:%Y-%m-%d %H:%M}"
            )
