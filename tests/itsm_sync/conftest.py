"""Fixtures the ITSM sync tests share: an AR System simulator on loopback, small and big."""

import pytest

from tests.itsm_sync.sync_helpers import running_simulator


@pytest.fixture
def sim():
    """300 people in 12 companies; a module that needs another simulator defines its own."""
    yield from running_simulator()


@pytest.fixture
def big_sim():
    """Enough people for the guard to matter: it can only trip past 500 active records."""
    yield from running_simulator(companies=8, people=700, seed=3)
