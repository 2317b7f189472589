"""field__any: membership in a list of values, as one array (PostgreSQL) or a plain IN, on the
fields it is registered on and no other."""

import pytest
from django.core.exceptions import FieldError
from django.db import connection
from django.test.utils import register_lookup

from catalog.models import Service
from entitlements.models import MarketplaceService
from itsm_sync.models import Company, Person
from msp_portal.lookups import AnyOf
from tests.catalog.factories import ServiceFactory
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company_any():
    """__any on Company's primary key and name, for these tests only."""
    with (
        register_lookup(Company._meta.pk, AnyOf),
        register_lookup(Company._meta.get_field("name"), AnyOf),
    ):
        yield


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_any_finds_exactly_the_listed_rows(vendor, monkeypatch, company_any):
    a, b, _c = CompanyFactory(), CompanyFactory(), CompanyFactory()
    monkeypatch.setattr(connection, "vendor", vendor)
    found = set(Company.objects.filter(pk__any=[a.pk, b.pk, 10**9]).values_list("pk", flat=True))
    assert found == {a.pk, b.pk}
    assert not Company.objects.filter(pk__any=[]).exists()
    assert set(Company.objects.filter(name__any=[a.name]).values_list("pk", flat=True)) == {a.pk}


def test_any_works_on_a_foreign_key():
    person = PersonFactory()
    PersonFactory()
    with register_lookup(Person._meta.get_field("company"), AnyOf):
        found = Person.objects.filter(company_id__any=[person.company_id])
        assert list(found.values_list("pk", flat=True)) == [person.pk]


def test_any_sends_one_array_parameter_on_postgresql(company_any):
    sql, params = Company.objects.filter(pk__any=list(range(1000))).query.sql_with_params()
    assert "= ANY(%s)" in sql
    assert len(params) == 1 and len(params[0]) == 1000


@pytest.mark.parametrize("value", ["12", 12, Company.objects.none()])
def test_any_refuses_anything_but_a_list(value, company_any):
    with pytest.raises(TypeError, match="__any takes a list"):
        Company.objects.filter(pk__any=value)


def test_any_is_offered_only_where_it_is_registered():
    import entitlements.access  # noqa: F401 - registers __any on the fields access resolution uses

    service = ServiceFactory()
    assert list(Service.objects.filter(pk__any=[service.pk])) == [service]
    assert not MarketplaceService.objects.filter(marketplace_id__any=[1, 2]).exists()
    for query in (
        lambda: Company.objects.filter(pk__any=[1]),
        lambda: Service.objects.filter(name__any=["x"]),
        lambda: MarketplaceService.objects.filter(assignment_id__any=[1]),
    ):
        with pytest.raises(FieldError, match="any"):
            query()
