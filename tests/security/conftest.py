"""What the security harnesses open every URL with: a planted world and the personas."""

import pytest

from .access import (
    CATALOG_ADMIN,
    CUSTOMER_ADMIN,
    END_USER,
    OUTSIDER,
    OUTSIDER_END_USER,
    PLAIN_USER,
    SYSTEM_ADMIN,
)


@pytest.fixture
def world(db, tenant_a, tenant_b):
    """Objects planted for URLs that take arguments: two customers, A and B, in MSP mode."""
    from tests.accounts.factories import PeopleGroupFactory
    from tests.catalog.factories import ServiceFactory

    service = ServiceFactory(name="Planted service", category__name="Planted category")
    return {
        "a": tenant_a,
        "b": tenant_b,
        "group": PeopleGroupFactory(name="Planted"),
        "category": service.category,
        "service": service,
    }


@pytest.fixture
def personas(system_admin, catalog_admin, plain_user, tenant_a, tenant_b):
    """Every signed-in persona of access.PERSONAS: staff, no role, and each customer's people."""
    return {
        SYSTEM_ADMIN: system_admin,
        CATALOG_ADMIN: catalog_admin,
        PLAIN_USER: plain_user,
        CUSTOMER_ADMIN: tenant_a["admin"],
        END_USER: tenant_a["eve"],
        OUTSIDER: tenant_b["admin"],
        OUTSIDER_END_USER: tenant_b["eve"],
    }
