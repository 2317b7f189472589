"""Fixtures the ITSM sync tests share: an AR System simulator on loopback, small and big, and
the environment a worker or the web process reads to reach it."""

import pytest

from tests.itsm_sync.sync_helpers import PASSWORD, USER, running_simulator


@pytest.fixture
def sim():
    """300 people in 12 companies; a module that needs another simulator defines its own."""
    yield from running_simulator()


@pytest.fixture
def big_sim():
    """Enough people for the guard to matter: it can only trip past 500 active records."""
    yield from running_simulator(companies=8, people=700, seed=3)


@pytest.fixture
def itsm_page_size() -> int:
    """ITSM_PAGE_SIZE of itsm_env; a module overrides this fixture for other pages."""
    return 100


@pytest.fixture
def itsm_env(sim, monkeypatch, itsm_page_size):
    """The environment a worker (and the web process) would have, pointing at the simulator."""
    monkeypatch.delenv("ITSM_FILE", raising=False)
    for name, value in {
        "ITSM_URL": sim.url,
        "ITSM_USER": USER,
        "ITSM_PASSWORD": PASSWORD,
        "ITSM_PAGE_SIZE": str(itsm_page_size),
        "ITSM_RETRIES": "0",
        "ITSM_BACKOFF": "0",
    }.items():
        monkeypatch.setenv(name, value)
    return sim
