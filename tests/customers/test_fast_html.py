"""customers.fast_html draws exactly what its reference template draws, whatever the data says."""

from decimal import Decimal

import pytest
from django.template.loader import render_to_string

from customers.fast_html import customer_row_cells, customer_rows

HOSTILE = [
    "<script>alert(1)</script>",
    "Smith & \"Sons\" 'Ltd'",
    "&amp; &lt;b&gt;",
    "Zürich — 東京 ☃",
    '"><img src=x onerror=alert(1)>',
]


def _row(name: str, **values) -> dict:
    return {
        "id": 7,
        "company__name": name,
        "company__company_type": "Customer",
        "company__status": "Enabled",
        "company__is_active": True,
        "credit_management": True,
        "alert_threshold": None,
        "needs_administrator": False,
        "services_count": 3,
        "admins_count": 1,
        "end_users_count": 12,
        "credit_balance": Decimal("1234.5"),
        **values,
    }


ROWS = [
    *(_row(text) for text in HOSTILE),
    # A type outside the known choices and a status the list spells out: both from the ITSM.
    _row("Odd", company__company_type=HOSTILE[0], company__status=HOSTILE[1]),
    _row("Gone", company__is_active=False, admins_count=0, needs_administrator=True),
    _row("Low", alert_threshold=Decimal(2000)),
    _row("Negative", credit_balance=Decimal("-5")),
    _row("Off", credit_management=False),
    _row("No ledger yet", credit_balance=None),
    _row("No balance column", credit_balance=None, credit_management=True),
]
del ROWS[-1]["credit_balance"]


def _url(pk: int) -> str:
    return f"/customers/{pk}/?next=\"<script>'&x"


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["company__name"][:20])
def test_a_row_is_the_reference_template_s(row):
    expected = render_to_string(
        "customers/components/customer_row.html", customer_row_cells(row, _url)
    )
    drawn = customer_rows([row], _url)
    assert drawn == expected.strip()
    assert "<script>" not in drawn and "<img" not in drawn


def test_the_rows_are_the_reference_template_s_one_a_line():
    expected = [
        render_to_string("customers/components/customer_row.html", customer_row_cells(r, _url))
        for r in ROWS[:3]
    ]
    assert customer_rows(ROWS[:3], _url).split("\n") == [e.strip() for e in expected]
