"""A service's fulfilment settings: checked with the ITSM when saved, catalog administrators only."""

import pytest
from django.urls import reverse

from catalog.models import QuestionKind
from catalog.services import question_add
from fulfilment.models import FulfilmentSettings


@pytest.fixture
def cost_centre(tenant_a, catalog_admin):
    return question_add(
        actor=catalog_admin,
        service=tenant_a["service"],
        kind=QuestionKind.SHORT_TEXT,
        label="Cost centre",
    )


pytestmark = pytest.mark.django_db


def _post(client, service, **fields):
    data = {
        "mode": "work_order",
        "work_order_type": "General",
        "priority": "Medium",
        "template_id": "",
        "summary_pattern": "{service} for {beneficiary}",
        "field_map": "",
        "impact": "4-Minor/Localized",
        "urgency": "4-Low",
        "service_type": "User Service Request",
        "reported_source": "Self Service",
        **fields,
    }
    return client.post(reverse("fulfilment:settings_edit", args=[service.pk]), data)


def test_a_mapping_to_fields_the_work_order_form_has_is_saved(
    sim, tenant_a, client, catalog_admin, cost_centre
):
    client.force_login(catalog_admin)

    answer = _post(client, tenant_a["service"], field_map="Cost centre | 3 | Cost centre")

    assert answer.status_code == 302
    saved = FulfilmentSettings.objects.get(service=tenant_a["service"])
    assert saved.mode == "work_order"
    assert saved.field_map == [{"question": "Cost centre", "field": 3, "label": "Cost centre"}]


def test_a_field_the_itsm_form_lacks_is_refused_with_what_to_do(
    sim, tenant_a, client, catalog_admin, cost_centre
):
    client.force_login(catalog_admin)

    answer = _post(client, tenant_a["service"], field_map="Cost centre | 11 | Cost centre")

    assert answer.status_code == 200
    assert "has no field WO Type Field 11" in answer.text
    assert "AR 314" in answer.text
    assert not FulfilmentSettings.objects.filter(service=tenant_a["service"]).exists()


def test_a_mapping_line_that_is_not_question_number_label_says_how_to_write_it(
    sim, tenant_a, client, catalog_admin
):
    client.force_login(catalog_admin)

    answer = _post(client, tenant_a["service"], field_map="Cost centre, three")

    assert answer.status_code == 200
    assert "question | field number | label" in answer.text
    assert not FulfilmentSettings.objects.exists()


def test_a_question_the_service_does_not_ask_is_refused_naming_those_it_does(
    sim, tenant_a, client, catalog_admin, cost_centre
):
    client.force_login(catalog_admin)

    answer = _post(client, tenant_a["service"], field_map="Budget code | 2 | Budget")

    assert "asks no question “Budget code”" in answer.text
    assert "(Cost centre)" in answer.text
    assert not FulfilmentSettings.objects.exists()


def test_an_unknown_placeholder_in_the_summary_is_refused(sim, tenant_a, client, catalog_admin):
    client.force_login(catalog_admin)

    answer = _post(client, tenant_a["service"], summary_pattern="{service} for {who}")

    assert "{service}, {beneficiary}, {requester} and {request}" in answer.text
    assert not FulfilmentSettings.objects.exists()


def test_the_service_editor_links_to_its_fulfilment(tenant_a, client, catalog_admin):
    client.force_login(catalog_admin)

    page = client.get(reverse("catalog:service_edit", args=[tenant_a["service"].pk])).text

    assert reverse("fulfilment:settings_edit", args=[tenant_a["service"].pk]) in page


def test_a_customer_administrator_gets_403(tenant_a, client, customer_admin):
    client.force_login(customer_admin)

    page = reverse("fulfilment:settings_edit", args=[tenant_a["service"].pk])
    assert client.get(page).status_code == 403
    assert client.get(reverse("fulfilment:push_list")).status_code == 403


def test_only_the_fields_the_form_lacks_are_named_when_numbers_share_digits(
    sim, tenant_a, client, catalog_admin, cost_centre
):
    floor = question_add(
        actor=catalog_admin,
        service=tenant_a["service"],
        kind=QuestionKind.SHORT_TEXT,
        label="Floor",
    )
    client.force_login(catalog_admin)

    answer = _post(
        client, tenant_a["service"], field_map=f"{floor.label} | 1 | Floor\nCost centre | 11 | CC"
    )

    assert "has no field WO Type Field 11, WO Type Field 11 Label (AR 314)" in answer.text
