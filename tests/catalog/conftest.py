import pytest

from tests.catalog.factories import ServiceFactory


@pytest.fixture
def service(db):
    """A published service, "Workstation", with no questions yet."""
    return ServiceFactory(name="Workstation")


@pytest.fixture
def admin_client(client, catalog_admin):
    """A client signed in as a catalog administrator."""
    client.force_login(catalog_admin)
    return client
