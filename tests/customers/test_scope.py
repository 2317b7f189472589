"""The one tenancy module (T1): who belongs to and administers which customer, and which rows of
every tenant-owned model each persona may see."""

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404

from accounts.models import User
from credits.services import credit_grant
from customers import scope
from customers.models import Customer
from entitlements.models import Marketplace, ServiceRequest
from entitlements.services import request_submit
from msp_portal.models import Installation
from msp_portal.tenancy import CHANGE, get_visible_or_404, visible_to
from tests.itsm_sync.factories import CompanyFactory

pytestmark = pytest.mark.django_db

# Every model whose rows belong to one customer must have a scope rule.
TENANT_APPS = ("customers", "credits", "entitlements", "webhooks")
NOT_TENANT_OWNED = {"customers.MspModeRequest"}  # the MSP's own tickets, system administrators'


def test_every_tenant_owned_model_has_a_scope_rule(catalog_admin):
    for label in TENANT_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.label in NOT_TENANT_OWNED:
                continue
            visible_to(catalog_admin, model).exists()  # raises when unregistered


def test_reading_an_unregistered_model_is_refused(catalog_admin):
    with pytest.raises(ImproperlyConfigured, match="no tenancy scope"):
        visible_to(catalog_admin, Installation)


def test_an_administrator_sees_only_their_own_customers_rows(tenant_a, tenant_b):
    admin = tenant_a["admin"]
    request_submit(
        actor=tenant_b["eve"], service=tenant_b["service"], quantity=1, justification="B's"
    )
    assert list(visible_to(admin, Customer)) == [tenant_a["customer"]]
    assert list(visible_to(admin, Marketplace)) == [tenant_a["marketplace"]]
    assert not visible_to(admin, ServiceRequest).exists()
    with pytest.raises(Http404):
        get_visible_or_404(admin, Marketplace, pk=tenant_b["marketplace"].pk)


def test_an_end_user_sees_their_own_requests_and_administers_nothing(tenant_a):
    eve, ed = tenant_a["eve"], tenant_a["ed"]
    own = request_submit(actor=eve, service=tenant_a["service"], quantity=1, justification="x")
    request_submit(actor=ed, service=tenant_a["service"], quantity=1, justification="y")
    assert list(visible_to(eve, ServiceRequest)) == [own]
    assert not scope.administers(eve, tenant_a["customer"])
    assert scope.administered_customer(eve) is None
    assert scope.end_user_customer(eve) == tenant_a["customer"]
    assert not visible_to(eve, Customer).exists()


def test_catalog_administrators_see_every_customer_and_change_them(
    catalog_admin, tenant_a, tenant_b
):
    assert visible_to(catalog_admin, Customer, CHANGE).count() == 2
    assert scope.may_manage(catalog_admin, tenant_b["customer"])
    assert not scope.administers(catalog_admin, tenant_b["customer"])


def test_system_administrators_see_no_customer(system_admin, tenant_a):
    assert not visible_to(system_admin, Customer).exists()
    assert not scope.may_manage(system_admin, tenant_a["customer"])


def test_a_deactivated_administrator_administers_nothing(tenant_a):
    admin = tenant_a["admin"]
    User.objects.filter(pk=admin.pk).update(is_active=False)
    admin.refresh_from_db()
    assert not scope.administers(admin, tenant_a["customer"])
    assert not visible_to(admin, Customer).exists()
    assert admin not in scope.administrator_users(tenant_a["customer"])


def test_an_administrator_moved_to_another_company_administers_nothing(tenant_a):
    admin = tenant_a["admin"]
    User.objects.filter(pk=admin.pk).update(company=CompanyFactory(name="Elsewhere"))
    admin.refresh_from_db()
    assert not scope.administers(admin, tenant_a["customer"])
    assert scope.administered_customer(admin) is None


def test_credit_rows_follow_their_customer(catalog_admin, tenant_a, tenant_b):
    from credits.models import CreditEntry

    for tenant in (tenant_a, tenant_b):
        tenant["customer"].credit_management = True
        tenant["customer"].save()
        credit_grant(
            actor=catalog_admin,
            customer=tenant["customer"],
            amount=10,
            reason="Opening",
            idempotency_key=f"open-{tenant['customer'].pk}",
        )
    mine = visible_to(tenant_a["admin"], CreditEntry)
    assert {e.account.customer_id for e in mine} == {tenant_a["customer"].pk}
    assert visible_to(catalog_admin, CreditEntry).count() == 2
