"""MSP mode on for good (M3) is known without asking the database again; nothing else is."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from customers.services import msp_disable, msp_enable
from msp_portal.errors import DomainError
from msp_portal.selectors import msp_mode_enabled
from tests.itsm_sync.factories import CompanyFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _reads_of_the_flag(queries) -> int:
    return sum("msp_portal_mspmode" in q["sql"] for q in queries)


def _add_customer_row() -> None:
    from customers.models import Customer

    Customer.objects.create(company=CompanyFactory(name="Acme"))


def test_once_a_customer_exists_the_flag_is_not_read_again():
    msp_enable(actor=None)
    _add_customer_row()
    assert msp_mode_enabled()
    with CaptureQueriesContext(connection) as queries:
        assert msp_mode_enabled()
    assert _reads_of_the_flag(queries) == 0


def test_while_no_customer_exists_the_flag_is_read_every_time():
    msp_enable(actor=None)
    assert msp_mode_enabled()
    msp_disable(actor=None)
    with CaptureQueriesContext(connection) as queries:
        assert not msp_mode_enabled()
    assert _reads_of_the_flag(queries) == 1


def test_a_customer_rolled_back_teaches_nothing_and_mode_can_still_be_switched_off():
    msp_enable(actor=None)
    with pytest.raises(DomainError), transaction.atomic():
        _add_customer_row()
        assert msp_mode_enabled()  # read inside the transaction that added the customer
        raise DomainError("the rest of the use case failed")
    msp_disable(actor=None)
    assert not msp_mode_enabled()
