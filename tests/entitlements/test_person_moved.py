"""E2 after an ITSM move: entitlements keep no state of their own, so a person moved to another
company sees nothing of the old customer on the next page (no receiver needed)."""

import pytest
from django.urls import reverse

from accounts.models import User
from itsm_sync.services import person_move_company
from tests.itsm_sync.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def test_an_end_user_moved_away_no_longer_sees_the_old_customer_s_services(
    client, tenant_a, django_capture_on_commit_callbacks
):
    eve = tenant_a["eve"]
    client.force_login(eve)
    assert tenant_a["service"].name in client.get(reverse("portal:catalog")).content.decode()

    elsewhere = CompanyFactory(name="Elsewhere Ltd")
    with django_capture_on_commit_callbacks(execute=True):
        person_move_company(
            person_id=eve.person_id, old_company_id=eve.company_id, new_company_id=elsewhere.pk
        )

    assert User.objects.get(pk=eve.pk).company == elsewhere
    response = client.get(reverse("portal:catalog"))
    assert tenant_a["service"].name not in response.content.decode()
