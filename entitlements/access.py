"""Access resolution (E2, E3): the one place that decides who may see and request what.

An end user sees a service if and only if some marketplace of their own customer offers it to an
audience that includes them, and the service is still assigned to that customer and published.
Everything is read fresh from the database on every call: a change shows on the next page.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from accounts.models import User
from catalog.models import Service, ServiceStatus
from customers.models import Customer
from customers.scope import end_user_customer
from itsm_sync.models import Person

from .models import AudienceKind, AudienceRule, MarketplaceService


@dataclass(frozen=True)
class Grant:
    """One reason a user sees a service: this marketplace, through this audience rule."""

    marketplace_id: int
    marketplace: str
    rule_id: int
    rule: str


@dataclass
class VisibleService:
    """A service a user may request, with every grant that gives it to them."""

    service: Service
    grants: list[Grant] = field(default_factory=list)


def rule_matches(rule: AudienceRule, *, user_id: int, person: Person | None) -> bool:
    """Whether one audience rule includes a person's account."""
    if rule.kind == AudienceKind.EVERYONE:
        return True
    if rule.kind == AudienceKind.USER:
        return rule.user_id == user_id
    if person is None:
        return False
    if rule.kind == AudienceKind.GROUP:
        return (not rule.organization or person.organization == rule.organization) and (
            not rule.department or person.department == rule.department
        )
    if rule.kind == AudienceKind.FILTER:
        return all(getattr(person, attr, None) in values for attr, values in rule.criteria.items())
    return False


def _rules(customer: Customer) -> list[AudienceRule]:
    return list(
        AudienceRule.objects.filter(marketplace__customer=customer).select_related(
            "marketplace", "user"
        )
    )


def _offers(customer: Customer, marketplace_ids) -> list[MarketplaceService]:
    return list(
        MarketplaceService.objects.filter(
            marketplace_id__in=marketplace_ids,
            marketplace__customer=customer,
            assignment__customer=customer,
            assignment__service__status=ServiceStatus.PUBLISHED,
        ).select_related("assignment__service__category", "marketplace")
    )


def _matching_rules(user: User) -> tuple[Customer | None, list[AudienceRule]]:
    """The user's customer and the audience rules of its marketplaces that include the user."""
    customer = end_user_customer(user)
    if customer is None:
        return None, []
    person = Person.objects.filter(pk=user.person_id).first()
    return customer, [
        r for r in _rules(customer) if rule_matches(r, user_id=user.pk, person=person)
    ]


def _grants(user: User) -> dict[int, list[Grant]]:
    """Service id -> the grants that give it to this user (E2); empty for anyone not an end user.

    Four queries whatever the number of marketplaces, rules and services; offers are read as
    id pairs.
    """
    customer, rules = _matching_rules(user)
    if not rules:
        return {}
    grants_by_marketplace: dict[int, list[Grant]] = defaultdict(list)
    company = customer.company.name
    for rule in rules:
        grants_by_marketplace[rule.marketplace_id].append(
            Grant(rule.marketplace_id, rule.marketplace.name, rule.pk, rule.describe(company))
        )
    # The marketplace ids come from this customer's own rules; the assignment is checked again.
    pairs = MarketplaceService.objects.filter(
        marketplace_id__any=list(grants_by_marketplace),
        assignment__customer_id=customer.pk,
        assignment__service__status=ServiceStatus.PUBLISHED,
    ).values_list("marketplace_id", "assignment__service_id")
    grants_by_service: dict[int, list[Grant]] = defaultdict(list)
    for marketplace_id, service_id in pairs:
        grants_by_service[service_id].extend(grants_by_marketplace[marketplace_id])
    return grants_by_service


def visible_services(*, user: User) -> list[VisibleService]:
    """The services a user may see and request, each with the marketplaces and rules granting it.

    Six queries whatever the number of marketplaces, rules and services; each service and each
    category is built once.
    """
    grants = _grants(user)
    if not grants:
        return []
    # Few categories serve many services: prefetching builds each category once.
    services = Service.objects.filter(pk__any=list(grants)).prefetch_related("category")
    visible = [VisibleService(service=s, grants=grants[s.pk]) for s in services]
    return sorted(visible, key=lambda v: (v.service.category.name, v.service.name))


class CatalogEntry(NamedTuple):
    """A visible service as the catalog lists, counts and searches it (no model instance)."""

    id: int
    name: str
    description: str
    category_id: int
    category: str


def catalog_entries(*, user: User) -> list[CatalogEntry]:
    """The services visible_services gives, as light rows by category and name.

    What the catalog page needs to count, filter and page a thousand services: the same rule
    (a matching audience rule of a marketplace offering a published service assigned to the
    customer), decided in one joined query, without building grants or model instances.
    """
    customer, rules = _matching_rules(user)
    if not rules:
        return []
    rows = (
        Service.objects.filter(
            status=ServiceStatus.PUBLISHED,
            assignments__customer_id=customer.pk,
            assignments__offers__marketplace_id__any=list({r.marketplace_id for r in rules}),
        )
        .distinct()
        .values_list("id", "name", "description", "category_id", "category__name")
    )
    return sorted(map(CatalogEntry._make, rows), key=lambda e: (e.category, e.name))


def catalog_page_services(*, entries: list[CatalogEntry]) -> list[Service]:
    """The full services of one catalog page, in its order; one unpublished since the listing
    was read is left out."""
    ids = [e.id for e in entries]
    services = (
        Service.objects.filter(pk__any=ids, status=ServiceStatus.PUBLISHED)
        .select_related("category")
        .in_bulk()
    )
    return [services[pk] for pk in ids if pk in services]


def visible_service(*, user: User, service_id: int) -> VisibleService | None:
    """One service if the user may see it, else None (callers answer 404)."""
    grants = _grants(user).get(service_id)
    if not grants:
        return None
    service = Service.objects.select_related("category").filter(pk=service_id).first()
    if service is None:
        return None
    return VisibleService(service=service, grants=grants)


@dataclass
class Explanation:
    """Why a user can or can't see a service: the decision chain, step by step (E3)."""

    visible: bool
    steps: list[tuple[bool, str]]


def explain_access(*, user: User, service: Service) -> Explanation:
    """The decision chain assignment → marketplace → audience rule for one (user, service) pair."""
    steps: list[tuple[bool, str]] = []
    customer = end_user_customer(user)
    if customer is None:
        reason = (
            "the account is deactivated"
            if not user.is_active
            else "MSP staff see no marketplace"
            if user.is_staff
            else "the account belongs to no customer"
        )
        return Explanation(False, [(False, f"{user.display_name} is not an end user: {reason}.")])
    steps.append((True, f"{user.display_name} is an active end user of {customer}."))
    assignment = customer.assignments.filter(service=service).first()
    if assignment is None:
        steps.append((False, f"{service.name} is not assigned to {customer}."))
        return Explanation(False, steps)
    steps.append((True, f"{service.name} is assigned to {customer}."))
    if service.status != ServiceStatus.PUBLISHED:
        steps.append(
            (False, f"{service.name} is {service.get_status_display().lower()}, not published.")
        )
        return Explanation(False, steps)
    steps.append((True, f"{service.name} is published."))
    offering = list(assignment.offers.select_related("marketplace"))
    if not offering:
        steps.append((False, f"No marketplace of {customer} offers {service.name}."))
        return Explanation(False, steps)
    person = Person.objects.filter(pk=user.person_id).first()
    granted = False
    for offer in offering:
        rules = [
            r
            for r in offer.marketplace.rules.select_related("user")
            if rule_matches(r, user_id=user.pk, person=person)
        ]
        if rules:
            granted = True
            for rule in rules:
                steps.append(
                    (
                        True,
                        f"Marketplace “{offer.marketplace.name}” offers it to {rule.describe(customer.company.name)}, which includes {user.display_name}.",
                    )
                )
        else:
            steps.append(
                (
                    False,
                    f"Marketplace “{offer.marketplace.name}” offers it, but its audience does not include {user.display_name}.",
                )
            )
    return Explanation(granted, steps)


def customer_access_matrix(
    *,
    customer: Customer,
    without_offer_id: int | None = None,
    without_rule_id: int | None = None,
    without_assignment_id: int | None = None,
    without_marketplace_id: int | None = None,
    user_ids: list[int] | None = None,
) -> dict[int, set[int]]:
    """For every active end user of a customer (or those of user_ids), the services they see.

    The without_* arguments answer "what if this were removed?" without removing anything.
    Four queries whatever the number of users, marketplaces and services.
    """
    users = User.objects.filter(
        company_id=customer.company_id, is_active=True, is_staff=False, person__isnull=False
    ).select_related("person")
    if user_ids is not None:
        users = users.filter(pk__in=user_ids)
    users = list(users)
    rules = [
        r
        for r in _rules(customer)
        if r.pk != without_rule_id and r.marketplace_id != without_marketplace_id
    ]
    offers_by_marketplace: dict[int, set[int]] = defaultdict(set)
    for offer in _offers(customer, {r.marketplace_id for r in rules}):
        if offer.pk == without_offer_id or offer.assignment_id == without_assignment_id:
            continue
        offers_by_marketplace[offer.marketplace_id].add(offer.assignment.service_id)
    matrix: dict[int, set[int]] = {}
    for user in users:
        services: set[int] = set()
        for rule in rules:
            if rule.marketplace_id in offers_by_marketplace and rule_matches(
                rule, user_id=user.pk, person=user.person
            ):
                services |= offers_by_marketplace[rule.marketplace_id]
        matrix[user.pk] = services
    return matrix


def who_would_lose_access(*, customer: Customer, **without) -> list[tuple[User, list[Service]]]:
    """The end users who would lose services if an offer, rule or assignment were removed (E3)."""
    before = customer_access_matrix(customer=customer)
    after = customer_access_matrix(customer=customer, **without)
    losses = {uid: before[uid] - after.get(uid, set()) for uid in before}
    losses = {uid: lost for uid, lost in losses.items() if lost}
    if not losses:
        return []
    users = User.objects.in_bulk(list(losses))
    services = Service.objects.in_bulk({sid for lost in losses.values() for sid in lost})
    return sorted(
        (
            (users[uid], sorted((services[s] for s in lost), key=lambda s: s.name))
            for uid, lost in losses.items()
        ),
        key=lambda pair: (pair[0].last_name, pair[0].first_name, pair[0].pk),
    )


def removal_impact_lines(customer: Customer, service: Service) -> list[str]:
    """Hook for customers.service_removal_impact: who loses the service if it is unassigned."""
    assignment = customer.assignments.filter(service=service).first()
    if assignment is None:
        return []
    return [
        f"{user.display_name} ({user.username})"
        for user, _ in who_would_lose_access(customer=customer, without_assignment_id=assignment.pk)
    ]
