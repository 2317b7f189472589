"""Every CSV download defuses cells a spreadsheet would run: the request export and the ledger.

People type the texts that end up in these files (justifications, grant reasons, ITSM names):
a cell starting with = + - @ |, a tab or a line break, or their full-width forms, is written
with a leading apostrophe so the spreadsheet shows it as text.
"""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from credits.services import credit_grant
from customers.services import customer_settings_update
from entitlements.services import request_submit

pytestmark = pytest.mark.django_db

HOSTILE = ["|calc", '＝HYPERLINK("http://evil")', "＋1", "－1", "＠SUM(A1)", "=1+1", "@x"]


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_the_request_export_defuses_a_hostile_justification(client, tenant_a, text):
    request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification=text
    )
    client.force_login(tenant_a["admin"])
    rows = _rows(client.get(reverse("portal:request_export")))
    justification = rows[0].index("Justification")
    assert rows[1][justification] == "'" + text


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_the_ledger_export_defuses_a_hostile_reason(client, tenant_a, catalog_admin, text):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=True, alert_threshold=None
    )
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("5"), reason=text)
    client.force_login(tenant_a["admin"])
    rows = _rows(client.get(reverse("credits:ledger_export", args=[customer.pk])))
    assert rows[1][rows[0].index("Reason")] == "'" + text
    assert rows[1][rows[0].index("Amount")] == "5.00"  # numbers stay numbers
