"""Account use cases: external users and people groups, both closed once MSP mode is on (M3)."""

import logging

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from itsm_sync.models import Company, Person
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, MspModeForbids, NotAllowed
from msp_portal.selectors import msp_mode_enabled

from .models import PeopleGroup, User
from .roles import CATALOG_ADMIN, SYSTEM_ADMIN

logger = logging.getLogger(__name__)

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


class AccountConflict(DomainError):
    """A person can't get an account because its login is held by another account."""


def account_login_for(person: Person) -> str:
    """The login of a person's account: the Remedy Login ID, or the e-mail when there is none."""
    return (person.remedy_login_id or person.email).strip()


def account_for_person(*, person: Person, actor: User | None = None) -> tuple[User, str]:
    """Create or reactivate the portal account of an ITSM person; returns (user, what happened).

    What happened is "created", "reactivated", "moved" or "unchanged". A new account has an
    unusable password and is sent an invitation with a set-password link once committed.
    """
    user = User.objects.select_for_update().filter(person=person).first()
    if user is None:
        login = account_login_for(person)
        if not login:
            raise AccountConflict(
                f"{person.full_name} has neither a Remedy Login ID nor an e-mail in ITSM, so "
                "no login can be made. Fill one of them in ITSM and sync again."
            )
        if User.objects.filter(username__iexact=login).exists():
            raise AccountConflict(
                f"The login {login!r} of {person.full_name} already belongs to another account. "
                "Correct the Remedy Login ID in ITSM, or remove the other account."
            )
        user = User(
            username=login,
            email=person.email,
            first_name=person.first_name[:150],
            last_name=person.last_name[:150],
            company_id=person.company_id,
            person=person,
        )
        user.set_unusable_password()
        user.full_clean()
        user.save()
        audit_record(
            actor=actor,
            action="account.create",
            obj=user,
            after={"username": login, "company": person.company.name},
        )
        transaction.on_commit(lambda: account_invite(user=user))
        return user, "created"
    changed = []
    if user.company_id != person.company_id:
        user.company_id = person.company_id
        changed.append("company")
    if not user.is_active:
        user.is_active = True
        changed.append("is_active")
    if not changed:
        return user, "unchanged"
    user.save(update_fields=changed)
    audit_record(
        actor=actor,
        action="account.reactivate" if "is_active" in changed else "account.move",
        obj=user,
        after={
            field: getattr(user, field if field != "company" else "company_id") for field in changed
        },
    )
    return user, "reactivated" if "is_active" in changed else "moved"


def account_deactivate(*, user: User, actor: User | None = None, reason: str) -> bool:
    """Deactivate (never delete) an account; returns False when it was inactive already."""
    if not user.is_active:
        return False
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="account.deactivate",
        obj=user,
        before={"is_active": True},
        after={"is_active": False},
        message=reason,
    )
    return True


def account_invite(*, user: User) -> None:
    """E-mail an account a link to choose its password and note when (User.invited_at)."""
    from django.conf import settings
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    if not user.email:
        return
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    base = settings.PORTAL_BASE_URL.rstrip("/")
    send_mail(
        subject="Your MSP Portal account",
        message=(
            f"Hello {user.display_name},\n\nAn account was opened for you in the service portal. "
            f"Your login is {user.username}.\nChoose your password here: {base}{path}\n\n"
            "The link works once and expires in a few days."
        ),
        from_email=None,
        recipient_list=[user.email],
    )
    user.invited_at = timezone.now()
    User.objects.filter(pk=user.pk).update(invited_at=user.invited_at)


@transaction.atomic
def account_follow_person_move(*, person_id: int) -> User | None:
    """When ITSM moves a person to another company, their account follows (one company at a time)."""
    person = Person.objects.select_related("company").get(pk=person_id)
    user = User.objects.select_for_update().filter(person=person).first()
    if user is None or user.company_id == person.company_id:
        return user
    before = user.company_id
    user.company_id = person.company_id
    user.save(update_fields=["company"])
    audit_record(
        actor=None,
        action="account.move",
        obj=user,
        before={"company_id": before},
        after={"company_id": person.company_id, "company": person.company.name},
        message="ITSM moved this person to another company; the account followed.",
    )
    return user


def account_owner_tell(*, user: User, subject: str, what: str, by: User | None = None) -> None:
    """E-mail the owner about a change to their sign-in (password, second factor), once the
    change is committed; by names the administrator who made it, when it was not the owner."""
    if not user.email:
        return
    who = f"By: {by.get_username()}, an administrator\n" if by is not None and by != user else ""
    body = (
        f"Hello {user.display_name},\n\n{what}\n\n{who}"
        f"When: {timezone.localtime():%Y-%m-%d %H:%M %Z}\n\n"
        "If this was you, there is nothing to do.\n"
        "If this was not you, someone may know your password: tell your system administrator "
        "at once, so that they can lock the account and reset your sign-in."
    )

    def send() -> None:
        try:
            send_mail(f"MSP Portal: {subject}", body, None, [user.email], fail_silently=False)
        except Exception:
            # The change is made and audited; a mail server that is down must not undo it.
            logger.exception("Could not mail %s about %r.", user.get_username(), subject)

    transaction.on_commit(send)


def account_password_changed(*, user: User, how: str) -> None:
    """Record that a person changed their own password (T3), and tell them by e-mail."""
    audit_record(
        actor=user,
        action="user.password_change",
        obj=user,
        before={"password": "(hidden)"},
        after={"password": "(new, hidden)"},
        message=how,
    )
    account_owner_tell(
        user=user,
        subject="your password was changed",
        what=f"The password of your MSP Portal account was changed ({how.rstrip('.').lower()}).",
    )
