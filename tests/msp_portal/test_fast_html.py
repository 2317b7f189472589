"""msp_portal.fast_html draws exactly what Django's template-rendered widgets draw."""

import pytest
from django import forms

from msp_portal.fast_html import Select

CHOICES = [
    ("", "All companies"),
    (1, "A & B <script>alert(1)</script>"),
    (2, "Quote \"x\" 'y'"),
    ("&amp; <b>", "Zürich — 東京 ☃ &lt;"),
    ('Group <g> & "q"', [(3, "in a group"), ("'><script>", "Ünïcode ‘’“”")]),
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
        (forms.Select, Select, "&amp; <b>", {"title": "\"><script>alert('t')</script>"}),
        (forms.Select, Select, "'><script>", {"data-ü": "東京 & 'x'", "aria-label": None}),
        (forms.SelectMultiple, _Multiple, ["1", 3], {"class": "form-select"}),
    ],
)
def test_the_html_is_django_s_for_hostile_names_values_and_labels(theirs, ours, value, attrs):
    name = 'company"><script>'
    expected = theirs(attrs=attrs, choices=CHOICES).render(name, value, {"id": "id_c"})
    drawn = ours(attrs=attrs, choices=CHOICES).render(name, value, {"id": "id_c"})
    assert _normal(drawn) == _normal(expected)
    assert "<script>" not in drawn
