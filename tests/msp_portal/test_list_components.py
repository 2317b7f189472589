"""The pieces every list page shares: the pager and the line past the last page."""

import base64
import json

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from msp_portal.pagination import KeysetPage
from tests.catalog.factories import ServiceFactory
from tests.itsm_sync.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def _cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def test_the_pager_links_the_first_and_the_next_page_keeping_the_filters():
    page = KeysetPage(rows=[1], next_cursor="CUR", is_first=False)
    html = render_to_string("components/pager.html", {"page": page, "query": "q=a&b"})
    assert 'href="?q=a&amp;b"' in html
    assert 'href="?q=a&amp;b&amp;after=CUR"' in html


def test_the_pager_of_rows_drawn_elsewhere_links_the_list_s_own_path():
    page = KeysetPage(rows=[1], next_cursor="CUR", is_first=False)
    html = render_to_string(
        "components/pager.html", {"page": page, "query": "", "list_path": "/itsm/runs/7/"}
    )
    assert 'href="/itsm/runs/7/?"' in html and 'href="/itsm/runs/7/?after=CUR"' in html


def test_the_first_page_has_no_link_back_and_the_last_none_onwards():
    page = KeysetPage(rows=[1], next_cursor=None, is_first=True)
    assert "href" not in render_to_string("components/pager.html", {"page": page})


def test_past_the_last_page_a_list_says_so_and_links_its_first_page():
    html = render_to_string(
        "components/no_more_rows.html", {"noun": "rejected records", "query": "tab=rejected"}
    )
    assert "No more rejected records." in html
    assert '<a href="?tab=rejected">Back to the first page</a>' in html


@pytest.mark.parametrize(
    ("url_name", "persona", "plant", "noun"),
    [
        ("itsm_sync:company_list", "system_admin", CompanyFactory, "companies"),
        ("catalog:service_list", "catalog_admin", ServiceFactory, "services"),
    ],
)
def test_a_list_followed_past_its_last_row_says_no_more(
    client, request, url_name, persona, plant, noun
):
    plant()
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse(url_name), {"after": _cursor("zzzz", 10**9)})
    content = response.content.decode()
    assert f"No more {noun}." in content
    assert "Back to the first page" in content
