"""CSV downloads: one streaming exporter, and no cell a spreadsheet would run as a formula."""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from msp_portal.exports import csv_cell, csv_response

# What spreadsheets (Excel, LibreOffice, Google Sheets) read as the start of a formula or a
# DDE call, and the full-width forms some of them fold into the ASCII ones.
HOSTILE = [
    "=1+1",
    "+1",
    "-1+2",
    "@SUM(A1:A9)",
    "|calc",
    "\t=1",
    "\r=1",
    "\n=1",
    '＝HYPERLINK("http://evil")',
    "＋1",
    "－1",
    "＠SUM(A1)",
    " =1+1",
    "\u00a0=1+1",
]
APPS = ("msp_portal", "accounts", "itsm_sync", "catalog", "customers", "credits", "entitlements")
HARMLESS = ["Acme Corp", "", "1-2", "a=b", "e-mail@example.com", "O'Neil", "Zoë", "💥"]


def _read(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_a_cell_a_spreadsheet_would_run_is_defused(text):
    cell = csv_cell(text)
    assert cell == "'" + text


@pytest.mark.parametrize("text", HARMLESS, ids=repr)
def test_a_harmless_cell_is_left_alone(text):
    assert csv_cell(text) == text


@pytest.mark.parametrize(
    "value,written",
    [(Decimal("-30.00"), "-30.00"), (-1, "-1"), (12, "12"), (Decimal("100.00"), "100.00")],
)
def test_numbers_stay_numbers_even_when_negative(value, written):
    assert csv_cell(value) == written


def test_nothing_is_an_empty_cell():
    assert csv_cell(None) == ""


def test_a_boolean_or_any_other_object_is_text_and_defused():
    class Weird:
        def __str__(self):
            return "=cmd|' /C calc'!A0"

    assert csv_cell(True) == "True"
    assert csv_cell(Weird()) == "'=cmd|' /C calc'!A0"


def test_the_response_streams_a_header_and_defused_rows():
    rows = iter([["=1+1", Decimal("-5.00"), None], ["＠x", 3, "plain"]])
    response = csv_response(rows, header=["A", "B", "C"], filename="things 2024.csv")
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert "things" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert _read(response) == [
        ["A", "B", "C"],
        ["'=1+1", "-5.00", ""],
        ["'＠x", "3", "plain"],
    ]


def test_a_filename_cannot_break_out_of_its_header():
    response = csv_response(iter([]), header=["A"], filename='a"; evil=1\r\nX-Bad: 1.csv')
    disposition = response["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert '"; evil' not in disposition


def test_every_csv_download_goes_through_the_shared_exporter():
    """No module but msp_portal/exports.py answers with a text/csv response of its own."""
    root = Path(settings.BASE_DIR)
    exporter = root / "msp_portal" / "exports.py"
    offenders = [
        str(path.relative_to(root))
        for app in APPS
        for path in (root / app).rglob("*.py")
        if path != exporter and "text/csv" in path.read_text()
    ]
    assert not offenders, f"Answer CSV downloads with msp_portal.exports.csv_response: {offenders}"
