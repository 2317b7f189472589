"""The portal's Select draws exactly what Django's template-rendered Select draws."""

import pytest
from django import forms

from msp_portal.forms import Select

CHOICES = [
    ("", "All companies"),
    (1, "A & B <script>alert(1)</script>"),
    (2, "Quote \"x\" 'y'"),
    ("Group <g>", [(3, "in a group")]),
]


def _normal(html: str) -> str:
    return " ".join(html.split()).replace("> <", "><")


class _Multiple(Select):
    allow_multiple_selected = True


@pytest.mark.parametrize(
    ("theirs", "ours", "value", "attrs"),
    [
        (forms.Select, Select, 2, {"class": "form-select", "disabled": True, "data-x": False}),
        (forms.Select, Select, None, {"class": "form-select", "hx-get": "/x?a=1&b=2"}),
        (forms.SelectMultiple, _Multiple, ["1", 3], {"class": "form-select"}),
    ],
)
def test_the_html_is_django_s(theirs, ours, value, attrs):
    expected = theirs(attrs=attrs, choices=CHOICES).render("company", value, {"id": "id_c"})
    drawn = ours(attrs=attrs, choices=CHOICES).render("company", value, {"id": "id_c"})
    assert _normal(drawn) == _normal(expected)
    assert "<script>" not in drawn
