"""Every API list runs the same number of queries whatever its size (issue 18 item 3): each
is called at two data sizes, the larger past one page, under the same django_assert_max_num_queries
bound, and the two counts must be equal."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from credits.services import credit_grant
from customers.services import customer_settings_update
from entitlements.services import marketplace_services_add, request_submit
from itsm_sync.models import SyncKind, SyncRun, SyncStatus
from msp_portal.models import AuditEvent, Notification
from tests.api.conftest import ApiClient, make_token
from tests.catalog.factories import CategoryFactory, ServiceFactory
from tests.customers.factories import (
    CustomerAdministratorFactory,
    CustomerFactory,
    CustomerServiceFactory,
    EndUserFilterFactory,
)
from tests.entitlements.factories import AudienceRuleFactory, MarketplaceFactory

SIZES = (2, 60)  # 60: more than one page of 50


def _customers(w, n):
    CustomerFactory.create_batch(n)


def _assignments(w, n):
    CustomerServiceFactory.create_batch(n, customer=w["a"]["customer"])


def _admins(w, n):
    CustomerAdministratorFactory.create_batch(n, customer=w["a"]["customer"])


def _filters(w, n):
    EndUserFilterFactory.create_batch(n, customer=w["a"]["customer"])


def _marketplaces(w, n):
    for marketplace in MarketplaceFactory.create_batch(n, customer=w["a"]["customer"]):
        AudienceRuleFactory(marketplace=marketplace)
        marketplace_services_add(
            actor=w["a"]["admin"], marketplace=marketplace, services=[w["a"]["service"]]
        )


def _ledger(w, n):
    for i in range(n):
        credit_grant(
            actor=w["staff"], customer=w["a"]["customer"], amount=Decimal(1), reason=f"{i}"
        )


def _services(w, n):
    ServiceFactory.create_batch(n)


def _categories(w, n):
    CategoryFactory.create_batch(n)


def _notifications(w, n):
    Notification.objects.bulk_create(
        Notification(user=w["a"]["admin"], title=f"Alert {i}", body="Low balance.", url="/")
        for i in range(n)
    )


def _entitled(w, n):
    services = ServiceFactory.create_batch(n, price=Decimal(0))
    for service in services:
        CustomerServiceFactory(customer=w["a"]["customer"], service=service)
    marketplace_services_add(
        actor=w["a"]["admin"], marketplace=w["a"]["marketplace"], services=services
    )


def _requests(w, n):
    for _ in range(n):
        request_submit(
            actor=w["a"]["eve"], service=w["a"]["service"], quantity=1, justification="more"
        )


def _waiting_approvals(w, n):
    from catalog.models import ApprovalPolicy

    service = w["a"]["service"]
    service.approval_policy = ApprovalPolicy.CUSTOMER_ADMIN
    service.save()
    _requests(w, n)


def _runs(w, n):
    now = timezone.now()
    SyncRun.objects.bulk_create(
        SyncRun(
            kind=SyncKind.PEOPLE,
            status=SyncStatus.SUCCEEDED,
            started_at=now - timedelta(minutes=i),
            finished_at=now,
        )
        for i in range(n)
    )


def _events(w, n):
    AuditEvent.objects.bulk_create(
        AuditEvent(actor_label="x", action="test.event", message=str(i)) for i in range(n)
    )


# (url name, URL kwargs, persona, grow, bound)
LISTS = {
    "customers": ("customer_list", None, "staff", _customers, 8),
    "assignments": ("customer_services", "a", "staff", _assignments, 8),
    "administrators": ("customer_administrators", "a", "staff", _admins, 8),
    "end_user_filters": ("customer_end_user_filters", "a", "staff", _filters, 8),
    "marketplaces": ("marketplace_list", "a", "admin", _marketplaces, 10),
    "ledger": ("credit_ledger", "a", "admin", _ledger, 10),
    "services": ("service_list", None, "staff", _services, 8),
    "categories": ("category_list", None, "staff", _categories, 8),
    "notifications": ("notification_list", None, "admin", _notifications, 8),
    "catalog": ("catalog", None, "eve", _entitled, 10),
    "requests": ("request_list", None, "admin", _requests, 10),
    "approvals": ("approval_list", None, "admin", _waiting_approvals, 10),
    "sync_runs": ("sync_run_list", None, "staff", _runs, 8),
    "audit": ("audit_event_list", None, "sysadmin", _events, 8),
}


def list_url_and_caller(name, tenant_a, catalog_admin, system_admin, alert_threshold=None):
    """The list's URL and the persona who reads it, customer A's credits switched on."""
    url_name, kwarg, persona, _grow, _bound = LISTS[name]
    customer_settings_update(
        actor=catalog_admin,
        customer=tenant_a["customer"],
        credit_management=True,
        alert_threshold=alert_threshold,
    )
    user = {
        "staff": catalog_admin,
        "admin": tenant_a["admin"],
        "eve": tenant_a["eve"],
        "sysadmin": system_admin,
    }[persona]
    url = reverse(f"api:v1:{url_name}", kwargs={"pk": tenant_a["customer"].pk} if kwarg else {})
    return url, user


@pytest.mark.parametrize("name", sorted(LISTS))
def test_list_queries_do_not_grow_with_rows(
    name, tenant_a, catalog_admin, system_admin, django_assert_max_num_queries
):
    _url_name, _kwarg, _persona, grow, bound = LISTS[name]
    world = {"a": tenant_a, "staff": catalog_admin}
    url, user = list_url_and_caller(name, tenant_a, catalog_admin, system_admin)
    api = ApiClient(make_token(user))
    counts, grown = [], 0
    for size in SIZES:
        grow(world, size - grown)
        grown = size
        api.get(url)  # warm: the token's last use is written at most once a minute
        with django_assert_max_num_queries(bound) as captured:
            response = api.get(url)
        assert response.status_code == 200, response.content
        assert response.json()["results"]
        counts.append(len(captured))
    assert counts[0] == counts[1], (
        f"{name}: {counts[0]} queries at {SIZES[0]}, {counts[1]} at {SIZES[1]}"
    )
    assert response.json()["next_cursor"] is not None
