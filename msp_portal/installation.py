"""The release record kept by every migrate (M1): first release installed, then each change."""

import os

from django.db import transaction

from . import __version__
from .models import Installation, ReleaseChange


def running_release() -> str:
    """The release of the code now running; MSP_PORTAL_RELEASE overrides it to simulate upgrades."""
    return os.environ.get("MSP_PORTAL_RELEASE", "").strip() or __version__


@transaction.atomic
def installation_record_release(*, release: str) -> Installation:
    """Record the release at the first migrate and every later change of release as an upgrade."""
    installation = Installation.objects.select_for_update().filter(pk=1).first()
    if installation is None:
        return Installation.objects.create(installed_release=release, current_release=release)
    if installation.current_release != release:
        ReleaseChange.objects.create(from_release=installation.current_release, to_release=release)
        installation.current_release = release
        installation.save(update_fields=["current_release"])
    return installation


def record_release_after_migrate(using: str = "default", **kwargs) -> None:
    """post_migrate receiver: keep the installation record in step with the running release."""
    with transaction.atomic(using=using):
        installation_record_release(release=running_release())
