"""Rough edges of the customer pages found by walking the mission in a browser (issue 19)."""

import pytest
from django.urls import reverse

from customers.models import Customer
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db):
    return CompanyFactory(name="Acme Corp")


@pytest.fixture
def alice(acme):
    return PersonFactory(
        company=acme, first_name="Alice", last_name="Archer", remedy_login_id="alice"
    )


def _candidates(content: str) -> str:
    """The administrator picker's list on the Add customer page."""
    return content.split('id="admin-candidates"')[1].split("</div>\n        </div>")[0]


def test_after_a_validation_error_the_picker_lists_the_chosen_companys_people(
    client, catalog_admin, msp_enabled, acme, alice
):
    PersonFactory(company=CompanyFactory(name="Other"), first_name="Mallory")
    client.force_login(catalog_admin)
    response = client.post(reverse("customers:customer_add"), {"company": acme.pk})
    content = response.content.decode()
    assert "Name at least one administrator" in content
    picker = _candidates(content)
    assert "Choose a company first" not in picker
    assert "Alice Archer" in picker and "Mallory" not in picker
    assert not Customer.objects.exists()


def test_people_already_chosen_are_not_offered_again_after_an_error(
    client, catalog_admin, msp_enabled, acme, alice
):
    bob = PersonFactory(company=acme, first_name="Bob", last_name="Baker")
    client.force_login(catalog_admin)
    content = client.post(
        reverse("customers:customer_add"),
        {"company": acme.pk, "administrators": [alice.pk], "alert_threshold": "-5"},
    ).content.decode()
    assert "Alice Archer" in content.split('data-testid="chosen-admins"')[1].split("</div>")[0]
    picker = _candidates(content)
    assert "Alice Archer" not in picker and bob.full_name in picker
