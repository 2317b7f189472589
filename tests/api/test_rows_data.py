"""api.base.rows_data shows every API list exactly as its DRF serializer would: the serializer
stays the one description of each row (and of the schema), rows_data only reads it faster."""

import json
from decimal import Decimal
from types import SimpleNamespace

import pytest
from rest_framework import serializers

import api.base
import api.catalog
from api.base import rows_data
from tests.api.conftest import ApiClient, make_token
from tests.api.test_list_queries import LISTS, list_url_and_caller


def _as_json(data) -> list:
    return json.loads(json.dumps(data, default=str))


@pytest.mark.parametrize("name", sorted(LISTS))
def test_every_list_shows_what_its_serializer_shows(
    name, tenant_a, catalog_admin, system_admin, monkeypatch
):
    url, user = list_url_and_caller(
        name, tenant_a, catalog_admin, system_admin, alert_threshold=Decimal("5.50")
    )
    LISTS[name][3]({"a": tenant_a, "staff": catalog_admin}, 3)  # three rows
    compared = []

    def both(serializer_class, rows):
        fast = rows_data(serializer_class, rows)
        assert _as_json(fast) == _as_json(serializer_class(rows, many=True).data)
        compared.append(len(fast))
        return fast

    monkeypatch.setattr(api.base, "rows_data", both)
    monkeypatch.setattr(api.catalog, "rows_data", both)  # the catalog pages a list of its own
    response = ApiClient(make_token(user)).get(url)
    assert response.status_code == 200, response.content
    if name != "marketplaces":  # shown with its offers and audience: the serializer itself
        assert compared and compared[0] == len(response.json()["results"]) > 0, response.json()


class _Shape(serializers.Serializer):
    id = serializers.IntegerField()
    company = serializers.CharField(source="company.name", allow_null=True)
    region = serializers.CharField(source="company.region", required=False)
    label = serializers.CharField(source="describe")
    amount = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)


@pytest.mark.parametrize(
    "row",
    [
        SimpleNamespace(
            id=1,
            company=SimpleNamespace(name="Acme <b>", region="EU"),
            describe=lambda: "called",
            amount=Decimal("3.5"),
        ),
        SimpleNamespace(id=2, company=None, describe="plain", amount=None),
        SimpleNamespace(
            id=3, company=SimpleNamespace(name=None), describe="no region", amount=Decimal("0")
        ),
    ],
    ids=["callable-and-nested", "none-on-the-way", "missing-attribute"],
)
def test_unusual_values_are_shown_the_serializers_way(row):
    assert _as_json(rows_data(_Shape, [row])) == _as_json(_Shape([row], many=True).data)


def test_a_serializer_with_nested_or_method_fields_is_left_to_drf():
    class Nested(serializers.Serializer):
        id = serializers.IntegerField()
        parts = _Shape(many=True)

    row = SimpleNamespace(
        id=1, parts=[SimpleNamespace(id=2, company=None, describe="x", amount=None)]
    )
    assert _as_json(rows_data(Nested, [row])) == _as_json(Nested([row], many=True).data)
