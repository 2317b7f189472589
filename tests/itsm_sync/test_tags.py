"""The status badge of ITSM records, as the directories and detail pages draw it."""

import pytest
from django.template import Context, Template


def _draw(status, active) -> str:
    template = Template("{% load itsm_sync_tags %}{% record_status status active %}")
    return template.render(Context({"status": status, "active": active}))


@pytest.mark.parametrize(
    ("status", "css"),
    [
        ("Enabled", "status-succeeded"),
        ("Proposed", "status-dry"),
        ("Offline", "status-partial"),
        ("Obsolete", "status-retired"),
    ],
)
def test_each_status_has_its_colour(status, css):
    html = _draw(status, True)
    assert f'class="badge status-badge {css}">{status}</span>' in html
    assert "Gone from source" not in html


def test_a_record_a_full_sync_missed_says_so_and_odd_text_is_escaped():
    html = _draw("<b>Odd</b>", False)
    assert "&lt;b&gt;Odd&lt;/b&gt;" in html and "<b>" not in html
    assert "Gone from source" in html
