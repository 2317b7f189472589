"""The company and people directories' filters (django-filter FilterSets over the mirror)."""

import pytest
from django.urls import reverse

from itsm_sync.models import CompanyType
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db
COMPANIES = reverse("itsm_sync:company_list")
PEOPLE = reverse("itsm_sync:person_list")


@pytest.fixture
def mirror(db):
    acme = CompanyFactory(name="Acme Corp", abbreviation="ACME")
    tools = CompanyFactory(name="Acme Tools", company_type=CompanyType.MANUFACTURER)
    CompanyFactory(name="Gone Ltd", is_active=False)
    alice = PersonFactory(company=acme, first_name="Alice", last_name="Archer")
    bob = PersonFactory(company=tools, first_name="Bob", last_name="Brown")
    PersonFactory(company=acme, first_name="Gus", last_name="Gone", is_active=False)
    return {"acme": acme, "tools": tools, "alice": alice, "bob": bob}


def _names(client, url, **query) -> list[str]:
    return [
        getattr(r, "name", None) or r.first_name
        for r in client.get(url, query).context["page"].rows
    ]


def test_the_company_filters_narrow_and_a_refused_presence_keeps_the_default(admin_client, mirror):
    assert _names(admin_client, COMPANIES, company_type="Manufacturer") == ["Acme Tools"]
    assert _names(admin_client, COMPANIES, query="acme") == ["Acme Corp", "Acme Tools"]
    assert _names(admin_client, COMPANIES, present="gone") == ["Gone Ltd"]
    # Nothing asked, or a presence that is not one: only what the source still lists.
    assert _names(admin_client, COMPANIES) == ["Acme Corp", "Acme Tools"]
    assert _names(admin_client, COMPANIES, present="bogus") == ["Acme Corp", "Acme Tools"]


def test_the_people_filters_narrow_by_company_and_search(admin_client, mirror):
    assert _names(admin_client, PEOPLE, company=mirror["tools"].pk) == ["Bob"]
    assert _names(admin_client, PEOPLE, query="arch") == ["Alice"]
    response = admin_client.get(PEOPLE, {"company": mirror["acme"].pk})
    assert _names(admin_client, PEOPLE, company=mirror["acme"].pk) == ["Alice"]
    assert not response.context["show_company"]


@pytest.mark.parametrize("value", ["999999999", "١", "²", "99999999999999999999999", "-1"])
def test_a_company_outside_the_offered_choices_is_refused_and_filters_nothing(
    admin_client, mirror, value
):
    response = admin_client.get(PEOPLE, {"company": value})
    assert response.status_code == 200
    assert [p.first_name for p in response.context["page"].rows] == ["Alice", "Bob"]
    assert response.context["form"].errors["company"]
    assert response.context["show_company"]


def test_control_characters_in_a_directory_search_read_as_spaces(admin_client, mirror):
    assert _names(admin_client, PEOPLE, query="\x1farch\t") == ["Alice"]
    assert _names(admin_client, COMPANIES, query="acme\x7f") == ["Acme Corp", "Acme Tools"]
    response = admin_client.get(COMPANIES, {"query": "x" * 5000})
    assert response.status_code == 200 and not response.context["form"].errors
