"""Audience rules show how many people they reach (issue 19): the customer's active end users
each rule includes, counted as access resolution decides (E1, E2)."""

import pytest
from django.urls import reverse

from accounts.models import User
from entitlements.models import AudienceKind
from entitlements.services import audience_rule_add, marketplace_create
from tests.itsm_sync.factories import PersonFactory

pytestmark = pytest.mark.django_db


def _reach(content: str) -> list[str]:
    rules = content.split('data-testid="audience-rules"')[1].split("</ul>")[0]
    return [
        part.split(">", 1)[1].split("<", 1)[0]
        for part in rules.split('data-testid="rule-reach"')[1:]
    ]


def test_each_audience_rule_says_how_many_people_it_reaches(client, tenant_a):
    admin, marketplace = tenant_a["admin"], tenant_a["marketplace"]
    audience_rule_add(
        actor=admin,
        marketplace=marketplace,
        kind=AudienceKind.GROUP,
        organization="Finance",
        department="Payroll",
    )
    audience_rule_add(
        actor=admin, marketplace=marketplace, kind=AudienceKind.FILTER, criteria={"site": ["Mars"]}
    )
    client.force_login(admin)
    url = reverse("entitlements:marketplace_detail", args=[marketplace.pk])
    # Everyone: the administrator, Eve and Ed; Finance – Payroll: Eve; a site nobody is at.
    assert sorted(_reach(client.get(url).content.decode())) == ["1 person", "3 people", "nobody"]
    User.objects.filter(pk=tenant_a["eve"].pk).update(is_active=False)
    assert sorted(_reach(client.get(url).content.decode())) == ["2 people", "nobody", "nobody"]


@pytest.mark.parametrize("rules", [1, 15])
def test_the_reach_costs_the_same_queries_for_any_number_of_rules(
    client, tenant_a, rules, django_assert_max_num_queries
):
    admin = tenant_a["admin"]
    marketplace = marketplace_create(actor=admin, customer=tenant_a["customer"], name="Wide")
    for i in range(rules):
        person = PersonFactory(company=tenant_a["company"], remedy_login_id=f"p{i}")
        user = User.objects.create(
            username=person.remedy_login_id, company=tenant_a["company"], person=person
        )
        audience_rule_add(actor=admin, marketplace=marketplace, kind=AudienceKind.USER, user=user)
    client.force_login(admin)
    # The page's own queries (layout, marketplace, offers, audience forms) and one for the reach.
    with django_assert_max_num_queries(24):
        content = client.get(
            reverse("entitlements:marketplace_detail", args=[marketplace.pk])
        ).content.decode()
    assert _reach(content) == ["1 person"] * rules
