"""The MSP mode readiness check (M1, M2, M4): every criterion, pass or fail, with what to do."""

from dataclasses import dataclass, field

from django.conf import settings

from accounts.models import PeopleGroup, User
from msp_portal.installation import running_release
from msp_portal.selectors import installation_get, release_change_list

NAMES_SHOWN = 5


@dataclass(frozen=True)
class Criterion:
    """One line of the checklist."""

    key: str
    label: str
    passed: bool
    detail: str
    remedy: str = ""


@dataclass(frozen=True)
class Readiness:
    """The whole checklist; ready when every criterion passes."""

    criteria: list[Criterion] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(c.passed for c in self.criteria)

    @property
    def blockers(self) -> list[Criterion]:
        return [c for c in self.criteria if not c.passed]


def _names(values: list[str], total: int) -> str:
    shown = ", ".join(values[:NAMES_SHOWN])
    return shown + (f" and {total - NAMES_SHOWN} more" if total > NAMES_SHOWN else "")


def _fresh_install() -> Criterion:
    label = "Fresh install"
    installation = installation_get()
    if installation is None:
        return Criterion(
            "fresh_install",
            label,
            False,
            "No installation record was found.",
            "Run `python manage.py migrate` to install the portal, then check again.",
        )
    changes = list(release_change_list())
    running = running_release()
    if changes:
        history = "; ".join(
            f"upgraded from {c.from_release} to {c.to_release} on {c.at:%Y-%m-%d}" for c in changes
        )
        return Criterion(
            "fresh_install",
            label,
            False,
            f"This installation was upgraded ({history}). MSP mode is only available on a fresh "
            "install.",
            "Install the current release on a new database, switch MSP mode on there, then "
            "sync companies and people into it.",
        )
    if running != installation.current_release:
        return Criterion(
            "fresh_install",
            label,
            False,
            f"The database was installed with release {installation.current_release}, but the "
            f"portal now runs {running}: that is an upgrade not yet migrated.",
            "Run `python manage.py migrate`; an upgraded install can't switch MSP mode on.",
        )
    return Criterion(
        "fresh_install",
        label,
        True,
        f"Installed as release {installation.installed_release} on "
        f"{installation.installed_at:%Y-%m-%d}; never upgraded.",
    )


def _no_external_users() -> Criterion:
    label = "No external users"
    external = User.objects.filter(is_external=True)
    total = external.count()
    if total:
        names = list(external.order_by("username").values_list("username", flat=True)[:NAMES_SHOWN])
        return Criterion(
            "no_external_users",
            label,
            False,
            f"{total} external user{'s' if total != 1 else ''} exist{'' if total != 1 else 's'}: "
            f"{_names(names, total)}.",
            "Delete these external users (Django admin › Users, filter “external user”).",
        )
    return Criterion("no_external_users", label, True, "No external users exist.")


def _no_collaboration_groups() -> Criterion:
    label = "No people groups open to collaborators"
    groups = PeopleGroup.objects.filter(open_to_collaborators=True)
    total = groups.count()
    if total:
        names = list(groups.order_by("name").values_list("name", flat=True)[:NAMES_SHOWN])
        return Criterion(
            "no_collaboration_groups",
            label,
            False,
            f"{total} people group{'s are' if total != 1 else ' is'} available to end users as "
            f"collaborators: {_names(names, total)}.",
            "Open each group (People groups) and clear “Available to end users as collaborators”.",
        )
    return Criterion(
        "no_collaboration_groups", label, True, "No people group is open to collaborators."
    )


def _deployment_mode() -> Criterion:
    label = "Deployment mode"
    if settings.DEPLOYMENT_MODE == "saas":
        return Criterion(
            "deployment_mode",
            label,
            True,
            "SaaS deployment: the operator switches MSP mode on when you file a request here.",
        )
    return Criterion(
        "deployment_mode",
        label,
        True,
        "On-premises deployment: a system administrator switches MSP mode on here.",
    )


def msp_readiness() -> Readiness:
    """Evaluate every readiness criterion afresh from the database."""
    return Readiness(
        criteria=[
            _fresh_install(),
            _no_external_users(),
            _no_collaboration_groups(),
            _deployment_mode(),
        ]
    )
