"""E2 as a property: every way the portal answers "who sees what" agrees with the rule itself.

Hypothesis draws small worlds: two customers, people whose ITSM attributes come from tiny
alphabets (so filters and groups really match), end-user filters (accounts come from them, as
C4 applies them), services in every publish state assigned to one customer, both or neither,
marketplaces offering some of them to audiences of every kind (everyone, named users, company /
organization / department groups, attribute filters). The end-user catalog, a service page,
the access matrix (also as it would be without each offer, rule, assignment or marketplace), who
would lose access, explain-access and the end-user filter preview must each agree with
`reference_grants` and `reference_brought_in` below, rules E2 and C4 written as plainly as
DESIGN.md states them, and so with each other.
"""

from collections import defaultdict

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from catalog.models import ServiceStatus
from customers.criteria import criteria_match, criteria_q
from customers.models import Customer, CustomerService, EndUserFilter
from customers.scope import end_user_customer
from customers.services import end_user_filters_apply, end_user_people
from entitlements.access import (
    access_resolve,
    audience_criteria,
    catalog_entries,
    customer_access_matrix,
    explain_access,
    visible_service,
    visible_services,
    who_would_lose_access,
)
from entitlements.models import AudienceKind, AudienceRule, Marketplace, MarketplaceService
from itsm_sync.models import Person, RecordStatus
from tests.catalog.factories import CategoryFactory, ServiceFactory
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db

# Two values per attribute (and a blank organization) so that filters and groups match often.
VALUES = {
    "organization": ["Finance", "IT"],
    "department": ["Payroll", "Desk"],
    "region": ["Europe", "Asia"],
    "site": ["Paris", "Oslo"],
}
CUSTOMERS = 2  # customer 0 is the one most things happen in; customer 1 is the neighbour


@st.composite
def criteria(draw, min_size: int = 0) -> dict[str, list[str]]:
    names = draw(
        st.lists(st.sampled_from(sorted(VALUES)), unique=True, min_size=min_size, max_size=2)
    )
    return {
        name: sorted(
            draw(st.lists(st.sampled_from(VALUES[name]), min_size=1, max_size=2, unique=True))
        )
        for name in names
    }


person = st.fixed_dictionaries(
    {
        "customer": st.sampled_from([0, 0, 0, 1]),
        "organization": st.sampled_from([*VALUES["organization"], ""]),
        "department": st.sampled_from(VALUES["department"]),
        "region": st.sampled_from(VALUES["region"]),
        "site": st.sampled_from(VALUES["site"]),
        "enabled": st.sampled_from([True, True, True, False]),
    }
)

audience = st.one_of(
    st.fixed_dictionaries({"kind": st.just(AudienceKind.EVERYONE)}),
    # The person whose account is named, if they have one (of either customer, active or not).
    st.fixed_dictionaries({"kind": st.just(AudienceKind.USER), "person": st.integers(0, 7)}),
    st.fixed_dictionaries(
        {
            "kind": st.just(AudienceKind.GROUP),
            "organization": st.sampled_from([*VALUES["organization"], ""]),
            "department": st.sampled_from([*VALUES["department"], ""]),
        }
    ),
    # An empty filter can't be made through the services, but the rule says what it means.
    st.fixed_dictionaries({"kind": st.just(AudienceKind.FILTER), "criteria": criteria()}),
)

world = st.fixed_dictionaries(
    {
        "people": st.lists(person, min_size=2, max_size=8),
        # Accounts made by an earlier filter for everyone, then deactivated by today's filters.
        "earlier_everyone": st.booleans(),
        # Customer 0 has at least one filter, so that it has end users most of the time.
        "filters": st.tuples(
            st.lists(criteria(), min_size=1, max_size=3), st.lists(criteria(), max_size=2)
        ),
        "services": st.lists(
            st.fixed_dictionaries(
                {
                    "status": st.sampled_from(
                        [ServiceStatus.PUBLISHED] * 3 + [ServiceStatus.DRAFT, ServiceStatus.RETIRED]
                    ),
                    "assigned": st.sampled_from([{0}, {0}, {0, 1}, {1}, set()]),
                }
            ),
            min_size=1,
            max_size=4,
        ),
        "marketplaces": st.lists(
            st.fixed_dictionaries(
                {
                    "customer": st.sampled_from([0, 0, 1]),
                    "offers": st.sets(st.integers(0, 3), min_size=1, max_size=4),
                    "rules": st.lists(audience, min_size=1, max_size=3),
                }
            ),
            min_size=1,
            max_size=3,
        ),
        "removal": st.integers(0, 30),
    }
)


def build(spec: dict) -> dict:
    """The world, written straight to the database (no services: fast, and no rule skipped)."""
    category = CategoryFactory(name="Property")
    customers = [
        Customer.objects.create(company=CompanyFactory(name=f"Property {i}"))
        for i in range(CUSTOMERS)
    ]
    people = [
        PersonFactory(
            company=customers[p["customer"]].company,
            first_name=f"P{i}",
            last_name="Property",
            organization=p["organization"],
            department=p["department"],
            region=p["region"],
            site=p["site"],
            profile_status=RecordStatus.ENABLED if p["enabled"] else RecordStatus.OFFLINE,
        )
        for i, p in enumerate(spec["people"])
    ]
    if spec["earlier_everyone"]:
        for customer in customers:
            everyone = EndUserFilter.objects.create(customer=customer, name="Earlier", criteria={})
            end_user_filters_apply(actor=None, customer=customer)
            everyone.delete()
    for customer, filters in zip(customers, spec["filters"], strict=True):
        for i, found in enumerate(filters):
            EndUserFilter.objects.create(customer=customer, name=f"F{i}", criteria=found)
        end_user_filters_apply(actor=None, customer=customer)
    accounts = {u.person_id: u for u in User.objects.filter(person__in=people)}
    services, assignments = [], {}
    for i, s in enumerate(spec["services"]):
        service = ServiceFactory(name=f"S{i}", category=category, status=s["status"])
        services.append(service)
        for c in s["assigned"]:
            assignments[c, i] = CustomerService.objects.create(
                customer=customers[c], service=service
            )
    for i, m in enumerate(spec["marketplaces"]):
        marketplace = Marketplace.objects.create(customer=customers[m["customer"]], name=f"M{i}")
        for s in sorted(m["offers"]):
            assignment = assignments.get((m["customer"], s))
            if assignment is not None:
                MarketplaceService.objects.create(marketplace=marketplace, assignment=assignment)
        for r in m["rules"]:
            rule = AudienceRule(marketplace=marketplace, kind=r["kind"])
            if r["kind"] == AudienceKind.USER:
                named = people[r["person"] % len(people)]
                if (
                    named.pk not in accounts
                    or marketplace.rules.filter(user=accounts[named.pk]).exists()
                ):
                    continue
                rule.user = accounts[named.pk]
            elif r["kind"] == AudienceKind.GROUP:
                rule.organization = r["organization"]
                rule.department = r["department"] if r["organization"] else ""
            elif r["kind"] == AudienceKind.FILTER:
                rule.criteria = r["criteria"]
            rule.save()
    return {"customers": customers, "services": services, "people": people}


# ---------------------------------------------------------------------------------------------
# The reference: E2 and C4 as DESIGN.md words them, one loop each
# ---------------------------------------------------------------------------------------------


def includes(rule: AudienceRule, user: User, person: Person) -> bool:
    """Whether an audience rule includes a person (E1's four kinds)."""
    if rule.kind == AudienceKind.EVERYONE:
        return True
    if rule.kind == AudienceKind.USER:
        return rule.user_id == user.pk
    if rule.kind == AudienceKind.GROUP:
        return (not rule.organization or person.organization == rule.organization) and (
            not rule.department or person.department == rule.department
        )
    return all(getattr(person, name) in values for name, values in rule.criteria.items())


def reference_grants(user: User, marketplaces: list, removed=None) -> dict[int, set[tuple]]:
    """Service id -> the (marketplace, rule) pairs through which E2 lets user see it.

    user comes with their person; marketplaces are every marketplace, with its rules and
    offers (read once per world); removed is a (kind, id) to leave out.
    """
    customer = end_user_customer(user)
    if customer is None:
        return {}
    person = user.person
    grants = defaultdict(set)
    for marketplace in marketplaces:
        if marketplace.customer_id != customer.pk or removed == ("marketplace", marketplace.pk):
            continue
        for rule in marketplace.rules.all():
            if removed == ("rule", rule.pk) or not includes(rule, user, person):
                continue
            for offer in marketplace.offers.all():
                assignment = offer.assignment
                if (
                    removed not in (("offer", offer.pk), ("assignment", assignment.pk))
                    and assignment.customer_id == customer.pk
                    and assignment.service.status == ServiceStatus.PUBLISHED
                ):
                    grants[assignment.service_id].add((marketplace.pk, rule.pk))
    return dict(grants)


def reference_brought_in(customer: Customer, filters: list[dict]) -> set[int]:
    """The Enabled people of the customer's company some filter brings in (C4)."""
    return {
        p.pk
        for p in Person.objects.filter(company=customer.company, is_active=True)
        if p.profile_status == RecordStatus.ENABLED
        and any(all(getattr(p, n) in v for n, v in f.items()) for f in filters)
    }


def end_users(customer: Customer) -> list[User]:
    return [
        u
        for u in User.objects.filter(company=customer.company).select_related("person")
        if end_user_customer(u) == customer
    ]


def removals(customer: Customer) -> list[tuple[str, int]]:
    """Everything an administrator could remove from the customer's entitlements, as (kind, id)."""
    rows = {
        "offer": MarketplaceService.objects.filter(marketplace__customer=customer),
        "rule": AudienceRule.objects.filter(marketplace__customer=customer),
        "assignment": CustomerService.objects.filter(customer=customer),
        "marketplace": Marketplace.objects.filter(customer=customer),
    }
    return [(kind, pk) for kind, found in rows.items() for pk in found.values_list("pk", flat=True)]


# ---------------------------------------------------------------------------------------------
# The property
# ---------------------------------------------------------------------------------------------


def check(spec: dict) -> None:
    built = build(spec)
    customers, services = built["customers"], built["services"]
    accounts = list(User.objects.filter(person__in=built["people"]))
    marketplaces = list(
        Marketplace.objects.prefetch_related("rules", "offers__assignment__service")
    )

    for customer in customers:
        filters = list(customer.user_filters.values_list("criteria", flat=True))
        # C4: the accounts that are active end users are exactly the people the filters bring in.
        assert {u.person_id for u in end_users(customer)} == reference_brought_in(customer, filters)
        # The end-user filter preview lists what each filter (and all of them) bring in, the
        # same people as the filter's criteria evaluated in memory.
        enabled = Person.objects.filter(
            company=customer.company, is_active=True, profile_status=RecordStatus.ENABLED
        )
        for found in filters:
            preview = set(
                end_user_people(customer=customer, filters=[found]).values_list("pk", flat=True)
            )
            assert preview == reference_brought_in(customer, [found]), found
            assert preview == {p.pk for p in enabled if criteria_match(found, p)}, found
        assert set(end_user_people(customer=customer).values_list("pk", flat=True)) == (
            reference_brought_in(customer, filters)
        )

    for account in accounts:
        # As a request loads the account (the data doesn't change while it is checked).
        user = User.objects.select_related("company", "person").get(pk=account.pk)
        expected = reference_grants(user, marketplaces)
        assert {e.id for e in catalog_entries(user=user)} == set(expected), "the catalog"
        assert {
            v.service.pk: {(g.marketplace_id, g.rule_id) for g in v.grants}
            for v in visible_services(user=user)
        } == expected, "the grants of visible services"
        for service in services:
            entry = visible_service(user=user, service_id=service.pk)
            granted = expected.get(service.pk, set())
            assert (entry is not None) == bool(granted), "a service page"
            if entry is not None:
                assert {(g.marketplace_id, g.rule_id) for g in entry.grants} == granted
            explanation = explain_access(user=user, service=service)
            assert explanation.visible == bool(granted), explanation.steps
            assert sum(ok and "which includes" in text for ok, text in explanation.steps) == len(
                granted
            ), explanation.steps

    for customer in customers:
        users = end_users(customer)
        before = {u.pk: set(reference_grants(u, marketplaces)) for u in users}
        assert customer_access_matrix(customer=customer) == before, "the access matrix"
        # "What if this were removed?", for everything that could be; who would lose access
        # (two matrices and their difference) for the one hypothesis drew.
        possible = removals(customer)
        for kind, pk in possible:
            after = {u.pk: set(reference_grants(u, marketplaces, (kind, pk))) for u in users}
            without = {f"without_{kind}_id": pk}
            assert customer_access_matrix(customer=customer, **without) == after, (kind, pk)
            if (kind, pk) == possible[spec["removal"] % len(possible)]:
                losses = who_would_lose_access(customer=customer, **without)
                assert {u.pk: {s.pk for s in lost} for u, lost in losses} == {
                    uid: before[uid] - after[uid] for uid in before if before[uid] - after[uid]
                }, "who would lose access"
        # The resolver includes each end user in exactly the audiences E1 says; each audience
        # rule asked of the database (criteria_q) includes the same end users, and a filter
        # rule those the end-user filter preview of its criteria lists.
        resolved = access_resolve(customer=customer)
        rules = list(AudienceRule.objects.filter(marketplace__customer=customer))
        for user in users:
            assert {r.pk for r in resolved.rules[user.pk]} == {
                r.pk for r in rules if includes(r, user, user.person)
            }, "the audiences of an end user"
        ids = [u.pk for u in users]
        for rule in rules:
            included = {u.pk for u in users if includes(rule, u, u.person)}
            in_sql = set(
                User.objects.filter(pk__in=ids)
                .filter(criteria_q(audience_criteria(rule)))
                .values_list("pk", flat=True)
            )
            assert in_sql == included, rule.describe()
            if rule.kind == AudienceKind.FILTER:
                previewed = set(
                    end_user_people(customer=customer, filters=[rule.criteria]).values_list(
                        "pk", flat=True
                    )
                )
                assert {u.pk for u in users if u.person_id in previewed} == included


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(spec=world)
def test_every_answer_to_who_sees_what_agrees_with_rule_e2(msp_enabled, spec):
    with transaction.atomic():
        check(spec)
        transaction.set_rollback(True)
