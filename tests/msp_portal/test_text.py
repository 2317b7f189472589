"""A sentence ending in a name that ends in a full stop gets one full stop, not two."""

import pytest

from msp_portal.text import one_full_stop


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Granted 5 to Northwind Insurance Inc.. Balance: 5.",
            "Granted 5 to Northwind Insurance Inc. Balance: 5.",
        ),
        ("Removed from Acme Inc..", "Removed from Acme Inc."),
        ("Wait...", "Wait..."),
        ("Loading… done.", "Loading… done."),
        ("Version 1.2.3.", "Version 1.2.3."),
        ("", ""),
    ],
)
def test_one_full_stop(text, expected):
    assert one_full_stop(text) == expected
