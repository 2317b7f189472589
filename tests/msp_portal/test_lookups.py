"""field__any: membership in a list of values, as one array (PostgreSQL) or a plain IN."""

import pytest
from django.db import connection

from itsm_sync.models import Company, Person
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_any_finds_exactly_the_listed_rows(vendor, monkeypatch):
    a, b, _c = CompanyFactory(), CompanyFactory(), CompanyFactory()
    monkeypatch.setattr(connection, "vendor", vendor)
    found = set(Company.objects.filter(pk__any=[a.pk, b.pk, 10**9]).values_list("pk", flat=True))
    assert found == {a.pk, b.pk}
    assert not Company.objects.filter(pk__any=[]).exists()
    assert set(Company.objects.filter(name__any=[a.name]).values_list("pk", flat=True)) == {a.pk}


def test_any_works_on_a_foreign_key():
    person = PersonFactory()
    PersonFactory()
    found = Person.objects.filter(company_id__any=[person.company_id]).values_list("pk", flat=True)
    assert list(found) == [person.pk]


def test_any_sends_one_array_parameter_on_postgresql():
    sql, params = Company.objects.filter(pk__any=list(range(1000))).query.sql_with_params()
    assert "= ANY(%s)" in sql
    assert len(params) == 1 and len(params[0]) == 1000


@pytest.mark.parametrize("value", ["12", 12, Company.objects.none()])
def test_any_refuses_anything_but_a_list(value):
    with pytest.raises(TypeError, match="__any takes a list"):
        Company.objects.filter(pk__any=value)
