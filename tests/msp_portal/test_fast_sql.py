"""msp_portal.fast_sql: a list composed once per shape gives the pages keyset_page gives.

The customers list (the one user today) is checked as MSP staff see it: hypothesis draws
companies whose names and abbreviations hold LIKE's wildcards, escapes, quotes and unicode,
searches made of the same characters, and page sizes; every page followed by its cursor, and
forged cursors, must give the same rows and cursors as keyset_page over the same queryset.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers import selectors
from customers.models import Customer
from itsm_sync.models import Company
from msp_portal.fast_sql import ComposedOnce, LoadedOnce
from msp_portal.pagination import keyset_page
from tests.customers.factories import CustomerFactory
from tests.itsm_sync.factories import CompanyFactory

pytestmark = pytest.mark.django_db

# Few letters, so that searches match; LIKE's % _ and \, a quote and a letter with case.
ALPHABET = "ab%_\\'Éé "
FORGED = ["", "x", "W10=", "WyJhIl0=", "WyJhIiwgIngiXQ==", "WzEsIDJd", "bnVsbA==", "%%%"]


def _rows(search: str):
    """Every customer's row (ComposedOnce applies the scope)."""
    return selectors._customer_rows(search)


def _seen(user, search: str):
    """The rows keyset_page is compared with: the scoped selector's."""
    return selectors.customer_row_list(user=user, query=search)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    names=st.lists(st.text(ALPHABET, min_size=1, max_size=6), min_size=0, max_size=9, unique=True),
    abbreviations=st.lists(st.text(ALPHABET, max_size=3), min_size=9, max_size=9),
    search=st.text(ALPHABET, max_size=3),
    size=st.integers(min_value=1, max_value=4),
)
def test_every_page_is_keyset_page_s(
    catalog_admin, msp_enabled, names, abbreviations, search, size
):
    with transaction.atomic():
        for name, abbreviation in zip(names, abbreviations, strict=False):
            CustomerFactory(company=CompanyFactory(name=name, abbreviation=abbreviation))
        once = ComposedOnce(_rows, ordering=selectors.CUSTOMER_ORDERING, size=size)
        for query in ("", search):
            cursor, seen = None, 0
            while True:
                page = once.page(user=catalog_admin, search=query, cursor=cursor)
                expected = keyset_page(
                    _seen(catalog_admin, query),
                    ordering=selectors.CUSTOMER_ORDERING,
                    cursor=cursor,
                    size=size,
                )
                assert page == expected, (query, cursor)
                seen += len(page.rows)
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert seen == _seen(catalog_admin, query).count()
            for forged in FORGED:
                assert once.page(user=catalog_admin, search=query, cursor=forged) == keyset_page(
                    _seen(catalog_admin, query),
                    ordering=selectors.CUSTOMER_ORDERING,
                    cursor=forged,
                    size=size,
                ), forged
        transaction.set_rollback(True)


def test_the_customers_list_of_staff_and_of_others_is_keyset_page_s(catalog_admin, tenant_a):
    for name in ("b%", "a_", "c\\"):
        CustomerFactory(company=CompanyFactory(name=name))
    for user in (catalog_admin, tenant_a["admin"], tenant_a["eve"]):
        for query in ("", "%", "a"):
            assert selectors.customer_row_page(user=user, query=query) == keyset_page(
                selectors.customer_row_list(user=user, query=query),
                ordering=selectors.CUSTOMER_ORDERING,
            ), (user, query)


def test_a_shape_is_composed_once(catalog_admin, msp_enabled, django_assert_num_queries):
    CustomerFactory.create_batch(3)
    once = ComposedOnce(_rows, ordering=selectors.CUSTOMER_ORDERING, size=2)
    first = once.page(user=catalog_admin)
    assert len(once._shapes) == 1
    once.page(user=catalog_admin, cursor=first.next_cursor)  # composed and prepared
    with django_assert_num_queries(1):  # run
        assert once.page(user=catalog_admin, cursor=first.next_cursor).rows
    once.page(user=catalog_admin, search="Company")
    once.page(user=catalog_admin, search="Other")
    assert len(once._shapes) == 3


@pytest.fixture
def root(db):
    """Sees every row of every model: the refusals below happen when a shape is composed."""
    from tests.accounts.factories import UserFactory

    return UserFactory(username="root", company=None, is_superuser=True, is_staff=True)


def test_a_search_it_can_t_place_is_refused(msp_enabled, root):
    once = ComposedOnce(
        lambda search: (
            Customer.objects.filter(company__name__iexact=search).values("id")
            if search
            else Customer.objects.values("id")
        ),
        ordering=("id",),
    )
    CustomerFactory()
    with pytest.raises(ImproperlyConfigured, match="contains/icontains"):
        once.page(user=root, search="x")


def test_an_ordering_it_can_t_mark_is_refused(msp_enabled, root):
    CustomerFactory()
    once = ComposedOnce(
        lambda search: Company.objects.values("id", "last_modified"),
        ordering=("last_modified", "id"),
    )
    with pytest.raises(ImproperlyConfigured, match="text and integer fields"):
        once.page(user=root)


def test_a_user_who_does_not_see_every_row_gets_only_their_own(tenant_a, tenant_b):
    """The scope is the mechanism's: rows(search) returns every customer's rows."""
    once = ComposedOnce(_rows, ordering=selectors.CUSTOMER_ORDERING)
    for tenant in (tenant_a, tenant_b):
        ids = [row["id"] for row in once.page(user=tenant["admin"]).rows]
        assert ids == [tenant["customer"].pk]
        assert once.page(user=tenant["eve"]).rows == []
    assert once._shapes == {}  # nobody here saw every row


@pytest.mark.django_db(transaction=True)
def test_a_session_that_lost_its_prepared_statements_prepares_them_again(catalog_admin):
    from customers.services import msp_enable

    msp_enable(actor=None)
    CustomerFactory.create_batch(2)
    once = ComposedOnce(_rows, ordering=selectors.CUSTOMER_ORDERING)
    expected = once.page(user=catalog_admin)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # as a pooler in transaction mode would
    assert once.page(user=catalog_admin) == expected


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_a_user_loaded_once_is_the_orm_s_for_every_persona(
    system_admin, catalog_admin, plain_user, tenant_a, tenant_b
):
    from accounts.backends import _users

    once = LoadedOnce(_users)
    people = [system_admin, catalog_admin, plain_user]
    people += [tenant[name] for tenant in (tenant_a, tenant_b) for name in ("admin", "eve", "ed")]
    for person in people:
        ours, theirs = once.get(person.pk), _users().get(pk=person.pk)
        assert type(ours) is type(theirs)
        assert _fields(ours) == _fields(theirs), person
        assert not ours._state.adding and ours._state.db == theirs._state.db
        for related in ("company", "person"):
            mine, orm = getattr(ours, related), getattr(theirs, related)
            assert (mine and _fields(mine)) == (orm and _fields(orm)), (person, related)
        assert ours.unread_notifications == theirs.unread_notifications
        assert sorted(ours.loaded_permissions) == sorted(theirs.loaded_permissions)
    assert once.get(10**9) is None


def test_a_superuser_without_company_or_person_loads_with_none_for_both(
    db, django_assert_num_queries
):
    from accounts.backends import _users
    from tests.accounts.factories import UserFactory

    user = UserFactory(company=None, person=None, is_superuser=True)
    once = LoadedOnce(_users)
    once.get(user.pk)
    with django_assert_num_queries(1):
        loaded = once.get(user.pk)
        assert loaded.company is None and loaded.person is None


def test_without_prepared_statements_the_pages_are_the_same(
    catalog_admin, msp_enabled, settings, django_assert_num_queries
):
    CustomerFactory.create_batch(3)
    once = ComposedOnce(_rows, ordering=selectors.CUSTOMER_ORDERING, size=2)
    expected = once.page(user=catalog_admin, search="Company")
    settings.DB_PREPARED_STATEMENTS = False
    with django_assert_num_queries(1) as ran:
        assert once.page(user=catalog_admin, search="Company") == expected
    assert not ran.captured_queries[0]["sql"].startswith("EXECUTE")


def test_pages_of_model_instances_are_keyset_page_s_at_every_size(
    catalog_admin, tenant_a, django_assert_num_queries
):
    """The API's customers list: instances with their company, any page size, one statement."""
    for name in ("b%", "a_", "c\\", "Ä"):
        CustomerFactory(company=CompanyFactory(name=name, abbreviation=name))
    for user in (catalog_admin, tenant_a["admin"]):
        for size in (1, 2, 3, 50):
            cursor = None
            while True:
                page = selectors.customer_page(user=user, cursor=cursor, size=size)
                expected = keyset_page(
                    selectors.customer_list(user=user),
                    ordering=selectors.CUSTOMER_ORDERING,
                    cursor=cursor,
                    size=size,
                )
                assert page == expected, (user, size, cursor)
                assert [_fields(c) | _fields(c.company) for c in page.rows] == [
                    _fields(c) | _fields(c.company) for c in expected.rows
                ]
                cursor = page.next_cursor
                if cursor is None:
                    break
    shapes = selectors._CUSTOMERS._shapes
    assert len(shapes) == 2  # first and later pages, whatever their size
    with django_assert_num_queries(1):
        selectors.customer_page(user=catalog_admin, size=7)
