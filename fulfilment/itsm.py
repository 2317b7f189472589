"""The ITSM side of fulfilment: which forms and fields, and the AR client to reach them.

The client is the ITSM sync's (`itsm_sync.sources.ARRestSource`, ITSM_URL, ITSM_USER, ...), so
fulfilment logs in, retries and pages exactly as the sync does. A demo without an AR server
(`make run`, ITSM_FILE) gets the project's AR simulator started in this process
(FULFILMENT_DEMO_SIMULATOR_PORT), its technician console at `/__sim/console`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from django.conf import settings

from itsm_sync.sources import ARRestSource, SourceConfig, SourceError

WORK_ORDER_CREATE_FORM = "WOI:WorkOrderInterface_Create"
WORK_ORDER_FORM = "WOI:WorkOrder"
WORK_INFO_FORM = "WOI:WorkInfo"
INCIDENT_CREATE_FORM = "HPD:IncidentInterface_Create"
INCIDENT_FORM = "HPD:Help Desk"
WORK_LOG_FORM = "HPD:WorkLog"
LAST_MODIFIED = "Last Modified Date"

WORK_ORDER_FIELDS = ("Request ID", "Work Order ID", "Status", "Status Reason", LAST_MODIFIED)
INCIDENT_FIELDS = ("Entry ID", "Incident Number", "Status", "Status_Reason", LAST_MODIFIED)
WORK_INFO_FIELDS = (
    "Work Info ID",
    "Work Order ID",
    "Detailed Description",
    "View Access",
    "Submit Date",
    LAST_MODIFIED,
)
WORK_LOG_FIELDS = (
    "Work Log ID",
    "Incident Number",
    "Detailed Description",
    "View Access",
    "Submit Date",
    LAST_MODIFIED,
)

_demo_lock = threading.Lock()
_demo_url = ""


def reference_field() -> str:
    """The ticket field holding the portal's reference to its request (see settings)."""
    return settings.FULFILMENT_REFERENCE_FIELD


def reference_for(request_id: int) -> str:
    return f"{settings.FULFILMENT_REFERENCE_PREFIX}{request_id}"


def _demo_simulator_url() -> str:
    global _demo_url
    with _demo_lock:
        if not _demo_url:
            from itsm_sync.simulator import Simulator

            simulator = Simulator(companies=1, people=1)
            simulator.start(port=settings.FULFILMENT_DEMO_SIMULATOR_PORT)
            _demo_url = simulator.url
        return _demo_url


def itsm_config() -> SourceConfig:
    """The AR server tickets go to: ITSM_URL, or the in-process simulator of the demo."""
    config = SourceConfig.from_env()
    if config.url:
        return replace(config, file="")
    if settings.FULFILMENT_DEMO_SIMULATOR_PORT:
        return replace(
            config, url=_demo_simulator_url(), user="Demo", password="Demo", file="", retries=0
        )
    raise SourceError(
        "No ITSM server is configured for fulfilment: set ITSM_URL (with ITSM_USER and "
        "ITSM_PASSWORD).",
        retryable=True,
    )


_sessions = threading.local()


@contextmanager
def itsm_client() -> Iterator[ARRestSource]:
    """This thread's session with the ITSM server, kept between tasks: an AR login costs more
    than a create, and a worker pushes many. A new session is opened when the configuration
    changes; an expired token is renewed by the client itself (401: log in again)."""
    config = itsm_config()
    client = getattr(_sessions, "client", None)
    if client is None or client.config != config:
        if client is not None:
            client.close()
        client = ARRestSource(config)
        client.__enter__()  # one session for its whole life, not one per listing
        _sessions.client = client
    yield client
