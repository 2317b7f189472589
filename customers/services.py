"""Customer use cases; first of them, switching MSP mode on and keeping it compliant (M1–M5)."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import PeopleGroup, User
from accounts.services import (
    account_deactivate,
    account_for_person,
    account_invite,
    account_login_for,
)
from catalog.models import Service, ServiceStatus
from itsm_sync.models import Company, CompanyType, Person, RecordStatus
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, MspModeRequired, NotAllowed
from msp_portal.models import MspMode
from msp_portal.selectors import msp_mode_enabled

from .criteria import criteria_any_q
from .models import (
    FILTER_ATTRIBUTES,
    Customer,
    CustomerAdministrator,
    CustomerService,
    EndUserFilter,
    EndUserRefusal,
    MspModeRequest,
)
from .readiness import msp_readiness
from .selectors import provider_company_list

OPERATOR = "operator (command line)"


class MspEnableRefused(DomainError):
    """MSP mode can't be switched on; one message per blocker, each saying what to do."""


def msp_mode_required_check() -> None:
    """Refuse customer, administrator, service-assignment and credit use cases while MSP mode is off (M5)."""
    if not msp_mode_enabled():
        raise MspModeRequired(
            "Customers exist only in MSP mode, which is off. A system administrator can switch "
            "it on from the MSP mode page once the readiness check passes."
        )


def _check_actor(actor: User | None) -> None:
    if actor is not None and not actor.has_perm("msp_portal.manage_msp_mode"):
        raise NotAllowed("Only system administrators can switch MSP mode on.")


@transaction.atomic
def msp_enable(
    *, actor: User | None, ticket: MspModeRequest | None = None, actor_label: str = ""
) -> MspMode:
    """Switch MSP mode on for good, or refuse with every blocker; audited (M1–M4).

    actor None is the operator at the command line; in a SaaS deployment only the operator may
    switch it on, fulfilling a ticket filed by a system administrator.
    """
    _check_actor(actor)
    if settings.DEPLOYMENT_MODE == "saas" and (actor is not None or ticket is None):
        raise MspEnableRefused(
            "In a SaaS deployment MSP mode is switched on by the operator: file a request on the "
            "MSP mode page; the operator then runs `python manage.py enable_msp --ticket N`."
        )
    mode, _ = MspMode.objects.select_for_update().get_or_create(pk=1)
    if ticket is not None:
        ticket = MspModeRequest.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status != MspModeRequest.Status.OPEN:
            raise MspEnableRefused(
                f"Ticket #{ticket.pk} is already {ticket.get_status_display().lower()}; "
                "only an open request can be fulfilled."
            )
    if mode.enabled:
        if ticket is not None:
            _ticket_close(ticket, MspModeRequest.Status.FULFILLED, "MSP mode was already on.")
        return mode
    readiness = msp_readiness()
    if not readiness.ready:
        raise MspEnableRefused(
            *[f"{c.label}: {c.detail} {c.remedy}".strip() for c in readiness.blockers]
        )
    label = actor_label or (actor.get_username() if actor else OPERATOR)
    mode.enabled = True
    mode.enabled_at = timezone.now()
    mode.enabled_by = actor
    mode.enabled_by_label = label
    mode.full_clean()
    mode.save()
    audit_record(
        actor=actor,
        actor_label=label,
        action="msp_mode.enable",
        obj=mode,
        before={"enabled": False},
        after={"enabled": True},
        message=f"Fulfils ticket #{ticket.pk}." if ticket else "",
    )
    if ticket is not None:
        _ticket_close(ticket, MspModeRequest.Status.FULFILLED, f"MSP mode switched on by {label}.")
    return mode


class MspDisableRefused(DomainError):
    """MSP mode can't be switched off any more: a customer has been added (M3)."""


def msp_disable_problem() -> str:
    """Why MSP mode can't be switched off, or "" while no customer has ever been added (M3)."""
    first = MspMode.objects.filter(pk=1).values_list("first_customer_at", flat=True).first()
    if first is None:
        first = Customer.objects.order_by("created_at").values_list("created_at", flat=True).first()
    if first is None:
        return ""
    return (
        "MSP mode stays on for good: the first customer was added on "
        f"{timezone.localtime(first):%Y-%m-%d %H:%M}, and from then on customers, their "
        "administrators, services and credits depend on it. It can be switched off only while "
        "no customer has ever been added."
    )


@transaction.atomic
def msp_disable(*, actor: User | None, actor_label: str = "") -> MspMode:
    """Switch MSP mode off again while no customer has ever been added, else refuse; audited (M3).

    actor None is the operator at the command line.
    """
    if actor is not None and not actor.has_perm("msp_portal.manage_msp_mode"):
        raise NotAllowed("Only system administrators can switch MSP mode off.")
    mode = MspMode.objects.select_for_update().filter(pk=1).first()
    if mode is None or not mode.enabled:
        return mode or MspMode(pk=1, enabled=False)
    if connection.vendor == "postgresql":
        # A customer being added right now commits before the check below reads, or waits
        # for this switch-off and is then refused by the database (customers migration 0004).
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Customer._meta.db_table} IN SHARE MODE")
    problem = msp_disable_problem()
    if problem:
        raise MspDisableRefused(problem)
    label = actor_label or (actor.get_username() if actor else OPERATOR)
    switched_on = (
        f"It was switched on {timezone.localtime(mode.enabled_at):%Y-%m-%d %H:%M} by "
        f"{mode.enabled_by_label or 'an unknown actor'}; no customer had been added."
    )
    mode.enabled, mode.enabled_at, mode.enabled_by, mode.enabled_by_label = False, None, None, ""
    mode.full_clean()
    mode.save()
    audit_record(
        actor=actor,
        actor_label=label,
        action="msp_mode.disable",
        obj=mode,
        before={"enabled": True},
        after={"enabled": False},
        message=switched_on,
    )
    return mode


def _ticket_close(ticket: MspModeRequest, status: str, outcome: str) -> None:
    ticket.status, ticket.outcome, ticket.closed_at = status, outcome, timezone.now()
    ticket.save(update_fields=["status", "outcome", "closed_at"])


@transaction.atomic
def msp_request_file(*, actor: User, note: str = "") -> MspModeRequest:
    """File a request (ticket) for the operator to switch MSP mode on, in a SaaS deployment (M4)."""
    _check_actor(actor)
    if settings.DEPLOYMENT_MODE != "saas":
        raise DomainError(
            "This is an on-premises deployment: switch MSP mode on directly on this page."
        )
    if msp_mode_enabled():
        raise DomainError("MSP mode is already on; there is nothing to request.")
    open_ticket = MspModeRequest.objects.filter(status=MspModeRequest.Status.OPEN).first()
    if open_ticket is not None:
        raise DomainError(
            f"Ticket #{open_ticket.pk} is already open; the operator will fulfil it. "
            "There is no need to file another."
        )
    ticket = MspModeRequest.objects.create(requested_by=actor, note=note)
    audit_record(actor=actor, action="msp_mode.request", obj=ticket, after={"note": note})
    return ticket


@dataclass
class ComplianceReport:
    """What the compliance job found and neutralised."""

    external_users: list[str]
    collaboration_groups: list[str]

    @property
    def clean(self) -> bool:
        return not self.external_users and not self.collaboration_groups


@transaction.atomic
def msp_compliance_enforce() -> ComplianceReport:
    """In MSP mode, deactivate external users and close collaboration groups that slipped in (M3)."""
    if not msp_mode_enabled():
        return ComplianceReport([], [])
    users = list(User.objects.select_for_update().filter(is_external=True, is_active=True))
    for user in users:
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(
            actor=None,
            action="msp_compliance.external_user_deactivated",
            obj=user,
            before={"is_active": True},
            after={"is_active": False},
            message="External users are not allowed in MSP mode; the account was deactivated.",
        )
    groups = list(PeopleGroup.objects.select_for_update().filter(open_to_collaborators=True))
    for group in groups:
        group.open_to_collaborators = False
        group.save(update_fields=["open_to_collaborators"])
        audit_record(
            actor=None,
            action="msp_compliance.collaboration_closed",
            obj=group,
            before={"open_to_collaborators": True},
            after={"open_to_collaborators": False},
            message="No people group may be open to collaborators in MSP mode; it was closed.",
        )
    return ComplianceReport([u.username for u in users], [g.name for g in groups])


# ---------------------------------------------------------------------------------------------
# Customers (C1–C4)
# ---------------------------------------------------------------------------------------------


def _require(actor: User | None, perm: str) -> None:
    if actor is not None and not actor.has_perm(perm):
        raise NotAllowed("Only catalog administrators can manage customers.")


def company_eligibility_problem(company: Company) -> str | None:
    """Why a company can't become a customer (C1), or None when it can."""
    if company.is_global:
        return f"{company.name} is the built-in global company; it can't be a customer."
    if provider_company_list().filter(pk=company.pk).exists():
        return (
            f"{company.name} is the provider's own company (the MSP's staff belong to it); it "
            "can't be a customer. If the provider is another company, set MSP_PROVIDER_COMPANY."
        )
    if company.company_type == CompanyType.MANUFACTURER:
        return f"{company.name} is a Manufacturer; people can't belong to one, so it can't be a customer."
    if company.status != RecordStatus.ENABLED or not company.is_active:
        return f"{company.name} is not Enabled in ITSM (status {company.status}); enable it there first."
    if Customer.objects.filter(company=company).exists():
        return f"{company.name} is already a customer."
    return None


def _admin_person_problem(customer_company: Company, person: Person) -> str | None:
    if person.company_id != customer_company.pk:
        return f"{person.full_name} belongs to another company; administrators come from {customer_company.name}."
    if not person.is_enabled:
        return f"{person.full_name} is not Enabled in ITSM and can't be an administrator."
    return None


def _published(services: list[Service]) -> list[Service]:
    not_published = [s.name for s in services if s.status != ServiceStatus.PUBLISHED]
    if not_published:
        raise DomainError(
            "Only published services can be assigned; not published: " + ", ".join(not_published)
        )
    return services


# credits registers its grant use case here (AppConfig.ready), so that a customer can be added
# with an opening grant: called as grant(actor=, customer=, amount=, reason=, idempotency_key=).
OPENING_GRANT: list = []


@transaction.atomic
def customer_add(
    *,
    actor: User | None,
    company: Company,
    administrators: list[Person],
    services: list[Service] = (),
    credit_management: bool = False,
    alert_threshold: Decimal | None = None,
    opening_grant: Decimal | None = None,
) -> Customer:
    """Turn an eligible ITSM company into a customer with at least one administrator (C1, C2, M5),
    and with Credit Management its opening grant of credits (K1, K2: a ledger entry)."""
    _require(actor, "customers.add_customer")
    msp_mode_required_check()
    if opening_grant and not credit_management:
        raise ValidationError(
            {
                "opening_grant": "An opening grant needs Credit Management: switch it on, or "
                "leave the grant empty."
            }
        )
    company = Company.objects.select_for_update().get(pk=company.pk)
    problem = company_eligibility_problem(company)
    if problem:
        raise DomainError(problem)
    if not administrators:
        raise DomainError(
            "Name at least one administrator from the people of "
            f"{company.name}: every customer needs one."
        )
    problems = [
        p for p in (_admin_person_problem(company, person) for person in administrators) if p
    ]
    if problems:
        raise DomainError(*problems)
    customer = Customer(
        company=company,
        created_by=actor,
        credit_management=credit_management,
        alert_threshold=alert_threshold,
    )
    customer.full_clean()
    customer.save()
    audit_record(
        actor=actor,
        action="customer.add",
        obj=customer,
        after={
            "company": company.name,
            "credit_management": credit_management,
            "alert_threshold": str(alert_threshold) if alert_threshold is not None else None,
            "opening_grant": str(opening_grant) if opening_grant else None,
        },
    )
    for person in administrators:
        _admin_add(actor=actor, customer=customer, person=person)
    if services:
        customer_services_add(actor=actor, customer=customer, services=list(services))
    if opening_grant:
        for grant in OPENING_GRANT:
            grant(
                actor=actor,
                customer=customer,
                amount=opening_grant,
                reason="Opening grant",
                idempotency_key=f"opening:{customer.pk}",
            )
    return customer


@transaction.atomic
def customer_settings_update(
    *,
    actor: User | None,
    customer: Customer,
    credit_management: bool,
    alert_threshold: Decimal | None,
) -> Customer:
    """Change a customer's Credit Management switch and alert threshold; audited."""
    _require(actor, "customers.change_customer")
    msp_mode_required_check()
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    before = {
        "credit_management": customer.credit_management,
        "alert_threshold": _str(customer.alert_threshold),
    }
    customer.credit_management = credit_management
    customer.alert_threshold = alert_threshold
    customer.full_clean()
    customer.save(update_fields=["credit_management", "alert_threshold"])
    after = {"credit_management": credit_management, "alert_threshold": _str(alert_threshold)}
    audit_record(actor=actor, action="customer.settings", obj=customer, before=before, after=after)
    return customer


def _str(value) -> str | None:
    return None if value is None else str(value)


@transaction.atomic
def customer_services_add(
    *, actor: User | None, customer: Customer, services: list[Service]
) -> list[CustomerService]:
    """Assign published services to a customer; already assigned ones are left as they are (C3)."""
    _require(actor, "customers.change_customer")
    msp_mode_required_check()
    _published(services)
    assigned = set(customer.assignments.values_list("service_id", flat=True))
    added = []
    for service in services:
        if service.pk in assigned:
            continue
        added.append(
            CustomerService.objects.create(customer=customer, service=service, assigned_by=actor)
        )
        assigned.add(service.pk)
    if added:
        audit_record(
            actor=actor,
            action="customer.services_add",
            obj=customer,
            after={"services": [a.service.name for a in added]},
        )
    return added


def service_removal_impact(*, customer: Customer, service: Service) -> list[str]:
    """Who or what would lose the service if it were taken from the customer.

    This is the documented hook for entitlements: each callable in REMOVAL_IMPACT_PROVIDERS
    takes (customer, service) and returns lines to show before the removal is confirmed.
    """
    lines: list[str] = []
    for provider in REMOVAL_IMPACT_PROVIDERS:
        lines.extend(provider(customer, service))
    return lines


# Higher layers (entitlements) append their impact providers here in AppConfig.ready().
REMOVAL_IMPACT_PROVIDERS: list = []


@transaction.atomic
def customer_service_remove(*, actor: User | None, customer: Customer, service: Service) -> None:
    """Take a service from a customer; its marketplaces stop offering it at once (C3)."""
    _require(actor, "customers.change_customer")
    msp_mode_required_check()
    deleted, _ = CustomerService.objects.filter(customer=customer, service=service).delete()
    if not deleted:
        raise DomainError(f"{service.name} is not assigned to {customer}.")
    audit_record(
        actor=actor,
        action="customer.service_remove",
        obj=customer,
        before={"service": service.name},
        after=None,
    )


def _admin_add(*, actor: User | None, customer: Customer, person: Person) -> CustomerAdministrator:
    user, _ = account_for_person(person=person, actor=actor)
    admin, created = CustomerAdministrator.objects.get_or_create(
        customer=customer, user=user, defaults={"added_by": actor}
    )
    if created:
        audit_record(
            actor=actor,
            action="customer.admin_add",
            obj=customer,
            after={"administrator": user.username},
        )
    if customer.needs_administrator:
        customer.needs_administrator = False
        customer.save(update_fields=["needs_administrator"])
    return admin


@transaction.atomic
def customer_admin_add(
    *, actor: User | None, customer: Customer, person: Person
) -> CustomerAdministrator:
    """Name a person of the customer's company as an administrator; they get an account (C2)."""
    _require(actor, "customers.change_customer")
    msp_mode_required_check()
    customer = Customer.objects.select_for_update().select_related("company").get(pk=customer.pk)
    problem = _admin_person_problem(customer.company, person)
    if problem:
        raise DomainError(problem)
    return _admin_add(actor=actor, customer=customer, person=person)


def customer_invitation_resend(*, actor: User | None, customer: Customer, user: User) -> None:
    """E-mail one of the customer's people a new link to choose their password; audited.

    Only for an active account that has not signed in yet: anyone who has uses "Forgot
    password?" on the sign-in page.
    """
    _require(actor, "customers.change_customer")
    msp_mode_required_check()
    if user.company_id != customer.company_id or user.is_staff or user.person_id is None:
        raise DomainError(f"{user.display_name} is not one of {customer}'s people.")
    if not user.is_active:
        raise DomainError(
            f"{user.display_name}'s account is deactivated: an end-user filter or an "
            "administrator role brings it back, with a new invitation."
        )
    if user.last_login is not None:
        raise DomainError(
            f"{user.display_name} has signed in already; to choose a new password they use "
            "“Forgot password?” on the sign-in page."
        )
    if not user.email:
        raise DomainError(
            f"{user.display_name} has no e-mail in ITSM, so no invitation can be sent: fill "
            "in Internet E-mail there; after the next people sync, resend it."
        )
    account_invite(user=user)
    audit_record(
        actor=actor,
        action="customer.invitation_resend",
        obj=customer,
        after={"account": user.username},
    )


@transaction.atomic
def customer_admin_remove(
    *, actor: User | None, customer: Customer, administrator: CustomerAdministrator
) -> None:
    """Remove an administrator; the last active one can't be removed (C2)."""
    _require(actor, "customers.change_customer")
    msp_mode_required_check()
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if administrator.customer_id != customer.pk:
        raise DomainError("That administrator belongs to another customer.")
    if not customer.administrators.active().exclude(pk=administrator.pk).exists():
        raise DomainError(
            f"{administrator.user.display_name} is the last active administrator of {customer}. "
            "Add another administrator first; every customer needs one who can sign in."
        )
    administrator.delete()
    audit_record(
        actor=actor,
        action="customer.admin_remove",
        obj=customer,
        before={"administrator": administrator.user.username},
    )


@transaction.atomic
def customer_admin_role_end_on_move(*, person_id: int, old_company_id: int) -> None:
    """A person moved by ITSM stops administering the old company's customer; flag it if last (C2)."""
    customer = Customer.objects.select_for_update().filter(company_id=old_company_id).first()
    if customer is None:
        return
    roles = CustomerAdministrator.objects.filter(customer=customer, user__person_id=person_id)
    for role in roles.select_related("user"):
        role.delete()
        audit_record(
            actor=None,
            action="customer.admin_remove",
            obj=customer,
            before={"administrator": role.user.username},
            message="ITSM moved this person to another company, which ends the role.",
        )
    _flag_if_no_active_administrator(customer)


# ---------------------------------------------------------------------------------------------
# End users by ITSM attribute filters (C4)
# ---------------------------------------------------------------------------------------------

FILTER_ATTRIBUTE_NAMES = {name for name, _ in FILTER_ATTRIBUTES}


def criteria_clean(criteria: dict) -> dict[str, list[str]]:
    """Keep only known attributes with their distinct, non-empty values, in a stable order."""
    unknown = set(criteria) - FILTER_ATTRIBUTE_NAMES
    if unknown:
        raise DomainError(
            "Unknown attribute: "
            + ", ".join(sorted(unknown))
            + ". Filters narrow by "
            + ", ".join(label for _, label in FILTER_ATTRIBUTES)
            + "."
        )
    cleaned = {}
    for name, _ in FILTER_ATTRIBUTES:
        values = sorted({str(v).strip() for v in criteria.get(name) or [] if str(v).strip()})
        if values:
            cleaned[name] = values
    return cleaned


def end_user_people(*, customer: Customer, filters: list[dict] | None = None):
    """The Enabled people of the customer's company that its filters bring in (OR of filters)."""
    if filters is None:
        filters = list(customer.user_filters.values_list("criteria", flat=True))
    people = Person.objects.filter(
        company_id=customer.company_id, is_active=True, profile_status=RecordStatus.ENABLED
    )
    if not filters:
        return people.none()
    return people.filter(criteria_any_q(filters))


@transaction.atomic
def end_user_filter_save(
    *,
    actor: User | None,
    customer: Customer,
    name: str,
    criteria: dict,
    user_filter: EndUserFilter | None = None,
    apply: bool = True,
) -> EndUserFilter:
    """Create or change one end-user filter of a customer, then apply the customer's filters (C4)."""
    _require(actor, "customers.change_customer")
    msp_mode_required_check()
    cleaned = criteria_clean(criteria)
    if user_filter is None:
        user_filter = EndUserFilter(customer=customer)
        before = None
    else:
        if user_filter.customer_id != customer.pk:
            raise DomainError("That filter belongs to another customer.")
        before = {"name": user_filter.name, "criteria": user_filter.criteria}
    taken = customer.user_filters.filter(name__iexact=name.strip()).exclude(pk=user_filter.pk)
    twin = taken.values_list("name", flat=True).first()
    if twin is not None:
        raise ValidationError(
            {
                "name": f"This customer already has a filter named “{twin}”: choose another "
                "name, or edit that filter."
            }
        )
    user_filter.name = name.strip()
    user_filter.criteria = cleaned
    user_filter.updated_at = timezone.now()
    user_filter.full_clean()
    user_filter.save()
    audit_record(
        actor=actor,
        action="customer.end_user_filter_save",
        obj=customer,
        before=before,
        after={"name": user_filter.name, "criteria": cleaned},
    )
    if apply:
        end_user_filters_apply(actor=actor, customer=customer)
    return user_filter


@transaction.atomic
def end_user_filter_delete(
    *, actor: User | None, customer: Customer, user_filter: EndUserFilter
) -> None:
    """Delete a filter; people it alone brought in lose access at once (accounts kept)."""
    _require(actor, "customers.change_customer")
    msp_mode_required_check()
    if user_filter.customer_id != customer.pk:
        raise DomainError("That filter belongs to another customer.")
    before = {"name": user_filter.name, "criteria": user_filter.criteria}
    user_filter.delete()
    audit_record(actor=actor, action="customer.end_user_filter_delete", obj=customer, before=before)
    end_user_filters_apply(actor=actor, customer=customer)


@dataclass
class FilterApplyReport:
    """What applying a customer's filters did (or, in a dry run, would do)."""

    customer: str
    matched: int = 0
    created: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # People refused an account by this apply and not before (or for another reason then).
    newly_refused: list[tuple[Person, str]] = field(default_factory=list)


# The account fields a person's ITSM record fills, by the ITSM field a correction goes to.
_ACCOUNT_SOURCES = {
    "username": "Remedy Login ID",
    "email": "Internet E-mail",
    "first_name": "First Name",
    "last_name": "Last Name",
}


def _refusal_reason(person: Person, problem: ValidationError) -> str:
    """Why a person got no account, naming the ITSM value to correct."""
    if isinstance(problem, DomainError):
        return f"{person.full_name} ({person.person_id}) of {person.company.name}: {problem}"
    details = []
    for name, messages in getattr(problem, "message_dict", {"": problem.messages}).items():
        source = _ACCOUNT_SOURCES.get(name, name)
        if name == "username" and not person.remedy_login_id.strip():
            source = "Internet E-mail (the login when there is no Remedy Login ID)"
        value = account_login_for(person) if name == "username" else getattr(person, name, "")
        text = " ".join(messages)
        details.append(f"{source} {value!r}: {text}" if source else text)
    return (
        f"{person.full_name} ({person.person_id}) of {person.company.name} got no portal "
        f"account. {' '.join(details)} Correct it in ITSM; the next people sync gives them "
        "their account."
    )


def _login_problem(person: Person) -> ValidationError | None:
    """What a new account's login and e-mail would be refused for, without writing anything."""
    candidate = User(username=account_login_for(person), email=person.email)
    checked = {"username", "email"}
    try:
        candidate.clean_fields(exclude=[f.name for f in User._meta.fields if f.name not in checked])
    except ValidationError as problem:
        return problem
    return None


def _refusals_keep(
    *, customer: Customer, refused: list[tuple[Person, str]], run_id: int | None
) -> list[tuple[Person, str]]:
    """Keep the customer's refused people as this apply found them; returns the new ones."""
    kept = {r.person_id: r for r in EndUserRefusal.objects.filter(customer=customer)}
    now = {person.pk for person, _ in refused}
    gone = [r.pk for person_id, r in kept.items() if person_id not in now]
    if gone:
        EndUserRefusal.objects.filter(pk__in=gone).delete()
    new = [(person, reason) for person, reason in refused if person.pk not in kept]
    changed = [
        (kept[person.pk], reason)
        for person, reason in refused
        if person.pk in kept and kept[person.pk].reason != reason
    ]
    EndUserRefusal.objects.bulk_create(
        (
            EndUserRefusal(customer=customer, person=person, reason=reason, run_id=run_id)
            for person, reason in new
        ),
        ignore_conflicts=True,  # an apply of the same customer at the same moment kept it
    )
    for refusal, reason in changed:
        refusal.reason, refusal.run_id, refusal.since = reason, run_id, timezone.now()
        refusal.save(update_fields=["reason", "run", "since"])
    return new + [(r.person, reason) for r, reason in changed]


def end_user_filters_apply(
    *, actor: User | None, customer: Customer, dry_run: bool = False, run_id: int | None = None
) -> FilterApplyReport:
    """Give matching Enabled people an active account and deactivate the rest; never delete (C4).

    Administrators keep their accounts while their ITSM person is Enabled; MSP staff accounts are
    never touched. A person whose ITSM record can't make an account (a Remedy Login ID that is no
    valid username, a login another account holds) is refused with the reason, kept as an
    EndUserRefusal until an apply succeeds for them, and everyone else is provisioned. `run_id`
    is the people sync this apply follows, recorded with new refusals. A dry run computes the
    same report and changes nothing.
    """
    report = FilterApplyReport(customer=str(customer))
    refused: list[tuple[Person, str]] = []
    with transaction.atomic():
        matching = list(end_user_people(customer=customer).select_related("company").order_by("pk"))
        report.matched = len(matching)
        matching_ids = {p.pk for p in matching}
        existing = {
            u.person_id: u
            for u in User.objects.filter(person__in=matching_ids).only(
                "id", "person_id", "is_active", "company_id"
            )
        }
        for person in matching:
            user = existing.get(person.pk)
            if user is not None and user.is_active and user.company_id == person.company_id:
                continue
            if dry_run:
                problem = None if user else _login_problem(person)
                if problem is not None:
                    report.problems.append(_refusal_reason(person, problem))
                    continue
                (report.reactivated if user else report.created).append(account_login_for(person))
                continue
            try:
                with transaction.atomic():
                    user, outcome = account_for_person(person=person, actor=actor)
            except ValidationError as problem:
                reason = _refusal_reason(person, problem)
                report.problems.append(reason)
                refused.append((person, reason))
                continue
            if outcome == "created":
                report.created.append(user.username)
            elif outcome in ("reactivated", "moved"):
                report.reactivated.append(user.username)
        admin_user_ids = set(customer.administrators.values_list("user_id", flat=True))
        leaving = (
            User.objects.filter(
                company_id=customer.company_id, person__isnull=False, is_active=True, is_staff=False
            )
            .exclude(person__in=matching_ids)
            .select_related("person")
        )
        for user in leaving:
            if user.pk in admin_user_ids and user.person.is_enabled:
                continue
            if dry_run:
                report.deactivated.append(user.username)
                continue
            account_deactivate(
                user=user,
                actor=actor,
                reason=f"No end-user filter of {customer} matches this person any more, or "
                "the person is no longer Enabled in ITSM.",
            )
            report.deactivated.append(user.username)
        if not dry_run:
            _flag_if_no_active_administrator(customer)
            report.newly_refused = _refusals_keep(customer=customer, refused=refused, run_id=run_id)
    return report


def customer_admin_account_deactivated(*, user: User) -> None:
    """Flag each customer this account administered that has no active administrator left (C2)."""
    for customer in Customer.objects.filter(administrators__user=user):
        _flag_if_no_active_administrator(customer)


def _flag_if_no_active_administrator(customer: Customer) -> None:
    if customer.needs_administrator:
        return
    if not customer.administrators.active().exists():
        customer.needs_administrator = True
        customer.save(update_fields=["needs_administrator"])
        audit_record(
            actor=None,
            action="customer.needs_administrator",
            obj=customer,
            after={"needs_administrator": True},
            message="No administrator has an active account any more; name a new one.",
        )
