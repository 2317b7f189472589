"""The JSON API's lists against the matching HTML page on the same data (issue 18 item 3).

The customers list, 10 000 customers (1 000 with --quick), as a catalog administrator: the API's
GET /api/v1/customers/ with a token beside the customers page with a session, p50 and queries
of page 1 and of a deep page, request by request in turns. Targets: the API's p50 at most the
page's; the same number of queries on page 1 and on the deep page (no COUNT over the table).
"""

import sys

from bench.common import row
from bench.pages import DEEP, _deep_url, _sample, _staff, world


class _TokenClient:
    """Django's test client calling with a bearer token (the shape bench.pages._sample uses)."""

    def __init__(self, secret: str):
        from django.test import Client

        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"}

    def get(self, url):
        return self.client.get(url, headers=self.headers)


def _token(user) -> str:
    import secrets
    from datetime import timedelta

    from django.utils import timezone

    from api.models import ApiToken
    from api.services import TOKEN_PREFIX, token_digest

    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        owner=user,
        name="bench",
        prefix=secret[:12],
        digest=token_digest(secret),
        read_only=True,
        expires_at=timezone.now() + timedelta(days=1),
    )
    return secret


def _deep_cursor_url(api: _TokenClient, url: str, pages: int) -> str:
    cursor = None
    for _ in range(pages):
        body = api.get(url + (f"?cursor={cursor}" if cursor else "")).json()
        if not body["next_cursor"]:
            break
        cursor = body["next_cursor"]
    return url + (f"?cursor={cursor}" if cursor else "")


def run(quick: bool = False) -> list[dict]:
    customers, _people = world(quick)
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    # The bench makes far more calls a minute than any client may.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "1000000/min", "address": "1000000/min"},
    }
    staff = _staff()
    page_client = Client()
    page_client.force_login(staff)
    api = _TokenClient(_token(staff))
    api_url, page_url = reverse("api:v1:customer_list"), reverse("customers:customer_list")
    deep = min(DEEP, customers // 50 - 2)
    repeat = 9 if quick else 21

    class _Both:
        """Turns between the API (paths under /api/) and the page, as _sample expects."""

        def get(self, url):
            return (api if url.startswith("/api/") else page_client).get(url)

    (a50, _, aq), (ad50, _, adq), (p50, _, pq), (pd50, _, pdq) = _sample(
        _Both(),
        [
            api_url,
            _deep_cursor_url(api, api_url, deep),
            page_url,
            _deep_url(page_client, page_url, deep),
        ],
        repeat,
    )
    return [
        row(
            f"API customers list p50, page 1 ({customers:,} rows)",
            a50,
            "ms",
            target="≤ the HTML page's p50",
            reference=p50,
            ratio=p50 / a50,
            ok=a50 <= p50,
        ),
        row(
            f"API customers list p50, page {deep + 1}",
            ad50,
            "ms",
            target="≤ the HTML page's p50",
            reference=pd50,
            ratio=pd50 / ad50,
            ok=ad50 <= pd50,
        ),
        row(
            "API customers list queries, page 1 / deep",
            aq,
            "queries",
            target="constant",
            reference=adq,
            ratio=aq / adq,
            ok=aq == adq,
        ),
        row("customers page queries, page 1 / deep", pq, "queries", reference=pdq),
    ]


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(r)
