"""Access resolution (E2, E3): the one place that decides who may see and request what.

E2: an end user sees a service if and only if some marketplace of their own customer offers it to
an audience that includes them, and the service is still assigned to that customer and published.
`access_resolve` decides it, and only there: its `Access` holds the two halves of that sentence,
the audience rules that include each end user (`audience_criteria`, evaluated in memory) and what
each of those rules' marketplaces offers (one query). The catalog, a service page, a request, the
access matrix, who would lose access and the explanation of a decision all read an `Access`.
Everything is read fresh from the database on every call: a change shows on the next page.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from django.db.models import Count, QuerySet

from accounts.models import User
from catalog.models import Service, ServiceStatus
from customers.criteria import Criteria, criteria_match, criteria_q
from customers.models import Customer
from customers.scope import end_user_customer
from customers.selectors import end_user_list
from msp_portal.lookups import any_lookup_register

from .models import AudienceKind, AudienceRule, MarketplaceService

# Offers and services are filtered below by lists of ids that grow with the customer's
# marketplaces and the catalog: as one array parameter (msp_portal.lookups), not a long IN.
any_lookup_register(MarketplaceService._meta.get_field("marketplace"), Service._meta.pk)


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


def audience_criteria(rule: AudienceRule) -> Criteria:
    """Whom an audience rule includes, as criteria on an end user's account (E1).

    The one definition of the audience kinds: access resolution evaluates it in memory
    (criteria_match); criteria_q turns it into the same condition for the database.
    """
    if rule.kind == AudienceKind.EVERYONE:
        return {}
    if rule.kind == AudienceKind.USER:
        return {"pk": [rule.user_id]}
    if rule.kind == AudienceKind.GROUP:
        person = {"organization": [rule.organization], "department": [rule.department]}
        person = {name: values for name, values in person.items() if values[0]}
    elif rule.kind == AudienceKind.FILTER:
        person = rule.criteria
    else:
        return {"pk": []}  # a kind this code doesn't know includes nobody
    return {f"person__{name}": values for name, values in person.items()}


def audience_reach(*, customer: Customer, rules: list[AudienceRule]) -> dict[int, int]:
    """How many of the customer's active end users each audience rule includes (E1), as access
    resolution decides: one query for every rule."""
    users = end_user_list(customer=customer).filter(is_active=True)
    counts, reach = {}, {}
    for rule in rules:
        criteria = audience_criteria(rule)
        if any(not values for values in criteria.values()):
            reach[rule.pk] = 0  # a condition no value meets includes nobody
        else:
            counts[f"rule_{rule.pk}"] = Count("pk", filter=criteria_q(criteria) or None)
    if counts:
        found = users.aggregate(**counts)
        reach.update({int(name.removeprefix("rule_")): n for name, n in found.items()})
    return reach


@dataclass(frozen=True)
class Removal:
    """What an administrator is about to remove; access is resolved as if it were gone (E3)."""

    offer_id: int | None = None
    rule_id: int | None = None
    assignment_id: int | None = None
    marketplace_id: int | None = None


NOTHING_REMOVED = Removal()


@dataclass
class Access:
    """E2 for some end users of one customer: the audience rules including each of them, and
    the offers of those rules' marketplaces (published services assigned to the customer)."""

    customer: Customer
    users: dict[int, User]
    rules: dict[int, list[AudienceRule]]  # user id -> the rules that include them
    offers: QuerySet[MarketplaceService]

    @cached_property
    def offered(self) -> dict[int, list[int]]:
        """Marketplace id -> the ids of the services it offers (read once, as id pairs)."""
        offered: dict[int, list[int]] = defaultdict(list)
        for marketplace_id, service_id in self.offers.values_list(
            "marketplace_id", "assignment__service_id"
        ):
            offered[marketplace_id].append(service_id)
        return offered

    def marketplace_ids(self, user_id: int) -> list[int]:
        """The marketplaces whose audience includes the user."""
        return sorted({rule.marketplace_id for rule in self.rules.get(user_id, ())})

    def services(self, user_id: int) -> set[int]:
        """The ids of the services the user sees."""
        marketplace_ids = self.marketplace_ids(user_id)
        if not marketplace_ids:
            return set()
        offered = self.offered
        return {s for m in marketplace_ids for s in offered.get(m, ())}

    def service_ids_query(self, user_id: int) -> QuerySet:
        """The same ids as services(user_id), as a subquery the database joins itself."""
        offers = self.offers
        if len(self.rules) > 1:
            offers = offers.filter(marketplace_id__any=self.marketplace_ids(user_id))
        return offers.values("assignment__service_id")

    def grants(self, user_id: int) -> dict[int, list[Grant]]:
        """Service id -> the grants that give it to the user, in the order of the rules."""
        rules = self.rules.get(user_id)
        if not rules:
            return {}
        company = self.customer.company.name
        offered = self.offered
        grants: dict[int, list[Grant]] = defaultdict(list)
        for rule in rules:
            grant = Grant(
                rule.marketplace_id, rule.marketplace.name, rule.pk, rule.describe(company)
            )
            for service_id in offered.get(rule.marketplace_id, ()):
                grants[service_id].append(grant)
        return grants


def access_resolve(
    *,
    customer: Customer,
    user_ids: list[int] | None = None,
    users: list[User] | None = None,
    service_ids: list[int] | None = None,
    removing: Removal = NOTHING_REMOVED,
) -> Access:
    """Rule E2, decided: for the customer's active end users (those of user_ids, if given), the
    audience rules that include them and what those rules' marketplaces offer (of service_ids).

    users, instead of user_ids, are end users of the customer already loaded with their person
    (customers.scope.end_user_customer said so). Three queries whatever the number of users,
    marketplaces, rules and services, two with users; the offers are read when first asked
    for, or joined into another query.
    """
    if users is None:
        users = end_user_list(customer=customer).filter(is_active=True)
        if user_ids is not None:
            users = users.filter(pk__in=user_ids)
        users = list(users)
    # Named-user rules show their user's name in grants.
    rules = [
        rule
        for rule in AudienceRule.objects.filter(marketplace__customer=customer).select_related(
            "marketplace", "user"
        )
        if rule.pk != removing.rule_id and rule.marketplace_id != removing.marketplace_id
    ]
    audiences = [(rule, audience_criteria(rule)) for rule in rules]
    matching = {
        user.pk: [rule for rule, criteria in audiences if criteria_match(criteria, user)]
        for user in users
    }
    # The marketplaces are the customer's own (their rules were read by customer); the
    # assignment, which another customer's marketplace could never hold, is checked again.
    offers = MarketplaceService.objects.filter(
        marketplace_id__any=sorted(
            {r.marketplace_id for found in matching.values() for r in found}
        ),
        assignment__customer=customer,
        assignment__service__status=ServiceStatus.PUBLISHED,
    )
    if removing.offer_id is not None:
        offers = offers.exclude(pk=removing.offer_id)
    if removing.assignment_id is not None:
        offers = offers.exclude(assignment_id=removing.assignment_id)
    if service_ids is not None:
        offers = offers.filter(assignment__service_id__in=service_ids)
    return Access(customer=customer, users={u.pk: u for u in users}, rules=matching, offers=offers)


def _own_access(user: User, service_ids: list[int] | None = None) -> Access | None:
    """E2 for one account, of its own customer; None for anyone who is not an end user."""
    customer = end_user_customer(user)
    if customer is None:
        return None
    # The signed-in user comes with their person (accounts.backends): no need to load it again.
    return access_resolve(customer=customer, users=[user], service_ids=service_ids)


def visible_services(*, user: User) -> list[VisibleService]:
    """The services a user may see and request, each with the marketplaces and rules granting it.

    Six queries whatever the number of marketplaces, rules and services; each service and each
    category is built once.
    """
    access = _own_access(user)
    grants = access.grants(user.pk) if access is not None else {}
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

    What the catalog page needs to count, filter and page a thousand services: the services of
    access_resolve, which the database joins to their names in the same query as the offers,
    without building grants or model instances. Three queries (the customer, the rules, the
    rows), and the person when the account comes without it.
    """
    access = _own_access(user)
    if access is None or not access.rules.get(user.pk):
        return []
    rows = Service.objects.filter(pk__in=access.service_ids_query(user.pk)).values_list(
        "id", "name", "description", "category_id", "category__name"
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
    access = _own_access(user, service_ids=[service_id])
    grants = access.grants(user.pk).get(service_id) if access is not None else None
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
    """The decision chain assignment → marketplace → audience rule for one (user, service) pair.

    The verdict is access_resolve's; the steps before it say which link of the chain is missing.
    """
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
    offering = sorted(
        {
            offer.marketplace
            for offer in assignment.offers.filter(marketplace__customer=customer).select_related(
                "marketplace"
            )
        },
        key=lambda m: (m.name, m.pk),
    )
    if not offering:
        steps.append((False, f"No marketplace of {customer} offers {service.name}."))
        return Explanation(False, steps)
    access = access_resolve(customer=customer, users=[user], service_ids=[service.pk])
    grants = access.grants(user.pk).get(service.pk, [])
    for marketplace in offering:
        rules = [g.rule for g in grants if g.marketplace_id == marketplace.pk]
        if not rules:
            steps.append(
                (
                    False,
                    f"Marketplace “{marketplace.name}” offers it, but its audience does not include {user.display_name}.",
                )
            )
        for rule in rules:
            steps.append(
                (
                    True,
                    f"Marketplace “{marketplace.name}” offers it to {rule}, which includes {user.display_name}.",
                )
            )
    return Explanation(bool(grants), steps)


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
    Three queries whatever the number of users, marketplaces and services.
    """
    access = access_resolve(
        customer=customer,
        user_ids=user_ids,
        removing=Removal(
            offer_id=without_offer_id,
            rule_id=without_rule_id,
            assignment_id=without_assignment_id,
            marketplace_id=without_marketplace_id,
        ),
    )
    return {user_id: access.services(user_id) for user_id in access.users}


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
