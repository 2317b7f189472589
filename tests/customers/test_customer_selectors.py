"""Reads of the customers list: composed on each call, never kept for the process's lifetime."""

import pytest
from django.db.models import Value

from customers import selectors
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_column_added_after_the_first_page_shows_on_the_next_one(catalog_admin, monkeypatch):
    customer = CustomerFactory()
    [first] = selectors.customer_row_list(user=catalog_admin)
    assert "note" not in first
    monkeypatch.setitem(selectors.CUSTOMER_LIST_COLUMNS, "note", lambda: Value("new column"))
    [row] = selectors.customer_row_list(user=catalog_admin)
    assert row["id"] == customer.pk and row["note"] == "new column"


def test_a_customer_added_later_is_listed(catalog_admin):
    CustomerFactory()
    assert len(selectors.customer_row_list(user=catalog_admin)) == 1
    CustomerFactory()
    assert len(selectors.customer_row_list(user=catalog_admin)) == 2
