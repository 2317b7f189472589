"""Account use cases: external users and people groups, both closed once MSP mode is on (M3)."""

from django.db import transaction

from itsm_sync.models import Company
from msp_portal.audit import audit_record
from msp_portal.errors import MspModeForbids, NotAllowed
from msp_portal.selectors import msp_mode_enabled

from .models import PeopleGroup, User
from .roles import CATALOG_ADMIN, SYSTEM_ADMIN

EXTERNAL_USERS_CLOSED = (
    "External users can't be created: MSP mode is on, and in MSP mode every user must come "
    "from an ITSM person of a customer company. Bring people in through the customer's end-user "
    "filters instead."
)
COLLABORATION_CLOSED = (
    "People groups can't be made available to end users as collaborators: MSP mode is on, and "
    "collaborators would let one customer's users see another's. Leave the option off."
)


def external_user_allowed_check() -> None:
    """Refuse when MSP mode is on: the external-users feature is closed then (M3)."""
    if msp_mode_enabled():
        raise MspModeForbids(EXTERNAL_USERS_CLOSED)


def collaboration_group_allowed_check() -> None:
    """Refuse when MSP mode is on: no group may be opened to end users as collaborators (M3)."""
    if msp_mode_enabled():
        raise MspModeForbids(COLLABORATION_CLOSED)


def _require(actor: User, perm: str) -> None:
    if not actor.has_perm(perm):
        raise NotAllowed("You do not have the role this action needs.")


@transaction.atomic
def external_user_create(
    *,
    actor: User,
    username: str,
    email: str,
    company: Company,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Create an external user (no ITSM person) while the feature is open; it is audited."""
    _require(actor, "accounts.add_external_user")
    external_user_allowed_check()
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        company=company,
        is_external=True,
    )
    user.set_unusable_password()
    user.full_clean()
    user.save()
    audit_record(
        actor=actor,
        action="external_user.create",
        obj=user,
        after={"username": username, "email": email, "company": company.name},
    )
    return user


@transaction.atomic
def people_group_create(
    *, actor: User, name: str, description: str = "", open_to_collaborators: bool = False
) -> PeopleGroup:
    """Create a people group; opening it to collaborators is refused once MSP mode is on."""
    _require(actor, "accounts.add_peoplegroup")
    if open_to_collaborators:
        collaboration_group_allowed_check()
    group = PeopleGroup(
        name=name, description=description, open_to_collaborators=open_to_collaborators
    )
    group.full_clean()
    group.save()
    audit_record(
        actor=actor,
        action="people_group.create",
        obj=group,
        after={"name": name, "open_to_collaborators": open_to_collaborators},
    )
    return group


@transaction.atomic
def people_group_update(
    *,
    actor: User,
    group: PeopleGroup,
    name: str,
    description: str = "",
    open_to_collaborators: bool = False,
) -> PeopleGroup:
    """Rename or describe a group, or open/close it to collaborators (opening refused in MSP mode)."""
    _require(actor, "accounts.change_peoplegroup")
    group = PeopleGroup.objects.select_for_update().get(pk=group.pk)
    if open_to_collaborators and not group.open_to_collaborators:
        collaboration_group_allowed_check()
    before = {
        "name": group.name,
        "description": group.description,
        "open_to_collaborators": group.open_to_collaborators,
    }
    group.name, group.description = name, description
    group.open_to_collaborators = open_to_collaborators
    group.full_clean()
    group.save()
    after = {
        "name": name,
        "description": description,
        "open_to_collaborators": open_to_collaborators,
    }
    audit_record(actor=actor, action="people_group.update", obj=group, before=before, after=after)
    return group


@transaction.atomic
def user_role_grant(*, actor: User | None, user: User, role: str) -> User:
    """Give an MSP staff member a role (system or catalog administrator); roles imply admin-site access."""
    from django.contrib.auth.models import Group

    if role not in (SYSTEM_ADMIN, CATALOG_ADMIN):
        raise ValueError(f"Unknown role {role!r}.")
    if actor is not None:
        _require(actor, "auth.change_group")
    if user.groups.filter(name=role).exists():
        return user
    user.groups.add(Group.objects.get(name=role))
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    audit_record(
        actor=actor,
        action="user.role_grant",
        obj=user,
        after={"role": role},
        actor_label="" if actor else "system",
    )
    return user
