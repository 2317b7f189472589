"""The fulfilment forms of the AR simulator: work orders, their notes, and incidents.

A create through an interface form (`WOI:WorkOrderInterface_Create`,
`HPD:IncidentInterface_Create`) makes the ticket itself (`WOI:WorkOrder`, `HPD:Help Desk`), as
AR's workflow does, and the interface entry answers the ticket's number (`WorkOrder_ID`,
`Incident Number`). A technician's work is done through `Simulator.ticket_act` (the
`POST /__sim/tickets/<number>` control and the `/__sim/console` page): move a status, add a
public or internal note (`WOI:WorkInfo` for a work order, `HPD:WorkLog` for an incident).
"""

from __future__ import annotations

from ..sources import (
    IMPACTS,
    INCIDENT_STATUSES,
    PRIORITIES,
    REPORTED_SOURCES,
    SERVICE_TYPES,
    URGENCIES,
    WORK_ORDER_STATUSES,
)
from .data import FormSpec

WORK_ORDER_CREATE_FORM = "WOI:WorkOrderInterface_Create"
WORK_ORDER_FORM = "WOI:WorkOrder"
WORK_INFO_FORM = "WOI:WorkInfo"
INCIDENT_CREATE_FORM = "HPD:IncidentInterface_Create"
INCIDENT_FORM = "HPD:Help Desk"
WORK_LOG_FORM = "HPD:WorkLog"
# The field that ties a ticket to the request that made it (Remedy's own link from a work order
# or incident to the service request it fulfils); the portal may be told to use another.
REFERENCE_FIELD = "SRID"
# `WO Type Field 1` … `WO Type Field 10` and their labels: a work order's type-specific fields.
WO_TYPE_FIELDS = 10

VIEW_ACCESS = ("Public", "Internal")
# A ticket in one of these may no longer be cancelled by its requester (Remedy refuses).
WORK_STARTED = ("In Progress", "Completed", "Closed", "Rejected")

_TYPE_FIELDS = tuple(
    name
    for n in range(1, WO_TYPE_FIELDS + 1)
    for name in (f"WO Type Field {n}", f"WO Type Field {n} Label")
)
_PEOPLE = (
    "First Name",
    "Last Name",
    "Customer Person ID",
    "Customer First Name",
    "Customer Last Name",
    "Customer Company",
    "Location Company",
)

WORK_ORDER_CREATE_SPEC = FormSpec(
    name=WORK_ORDER_CREATE_FORM,
    id_field="Request ID",
    id_prefix="WOI",
    fields=(
        "Request ID",
        "z1D_Action",
        *_PEOPLE,
        "Summary",
        "Detailed Description",
        "Status",
        "Priority",
        "Work Order Type",
        "TemplateID",
        REFERENCE_FIELD,
        "WorkOrder_ID",
        *_TYPE_FIELDS,
        "Last Modified Date",
    ),
    required=("z1D_Action", "Customer Company", "Summary", "Location Company"),
    choices={
        "z1D_Action": ("CREATE",),
        "Status": WORK_ORDER_STATUSES,
        "Priority": PRIORITIES,
        "Work Order Type": ("General", "Project"),
    },
)

WORK_ORDER_SPEC = FormSpec(
    name=WORK_ORDER_FORM,
    id_field="Request ID",
    id_prefix="000",
    fields=(
        "Request ID",
        "Work Order ID",
        *_PEOPLE,
        "Summary",
        "Detailed Description",
        "Status",
        "Status Reason",
        "Priority",
        "Work Order Type",
        "TemplateID",
        REFERENCE_FIELD,
        *_TYPE_FIELDS,
        "Submit Date",
        "Last Modified Date",
    ),
    required=("Work Order ID", "Summary", "Status"),
    choices={"Status": WORK_ORDER_STATUSES, "Priority": PRIORITIES},
)

WORK_INFO_SPEC = FormSpec(
    name=WORK_INFO_FORM,
    id_field="Work Info ID",
    id_prefix="WLG",
    fields=(
        "Work Info ID",
        "Work Order ID",
        "Detailed Description",
        "Work Log Type",
        "View Access",
        "Submitter",
        "Submit Date",
        "Last Modified Date",
    ),
    required=("Work Order ID", "Detailed Description", "View Access"),
    choices={"View Access": VIEW_ACCESS},
)

WORK_LOG_SPEC = FormSpec(
    name=WORK_LOG_FORM,
    id_field="Work Log ID",
    id_prefix="WLH",
    fields=(
        "Work Log ID",
        "Incident Number",
        "Detailed Description",
        "Work Log Type",
        "View Access",
        "Submitter",
        "Submit Date",
        "Last Modified Date",
    ),
    required=("Incident Number", "Detailed Description", "View Access"),
    choices={"View Access": VIEW_ACCESS},
)

_INCIDENT_FIELDS = (
    "First_Name",
    "Last_Name",
    "Customer Person ID",
    "Company",
    "Description",
    "Detailed_Decription",
    "Impact",
    "Urgency",
    "Status",
    "Reported Source",
    "Service_Type",
    REFERENCE_FIELD,
)

INCIDENT_CREATE_SPEC = FormSpec(
    name=INCIDENT_CREATE_FORM,
    id_field="Request ID",
    id_prefix="INI",
    fields=("Request ID", "z1D_Action", *_INCIDENT_FIELDS, "Incident Number", "Last Modified Date"),
    required=("z1D_Action", "Company", "Description", "Impact", "Urgency", "Service_Type"),
    choices={
        "z1D_Action": ("CREATE",),
        "Impact": IMPACTS,
        "Urgency": URGENCIES,
        "Status": INCIDENT_STATUSES,
        "Reported Source": REPORTED_SOURCES,
        "Service_Type": SERVICE_TYPES,
    },
)

INCIDENT_SPEC = FormSpec(
    name=INCIDENT_FORM,
    id_field="Entry ID",
    id_prefix="HPD",
    fields=(
        "Entry ID",
        "Incident Number",
        *_INCIDENT_FIELDS,
        "Status_Reason",
        "Submit Date",
        "Last Modified Date",
    ),
    required=("Incident Number", "Description", "Status"),
    choices={"Status": INCIDENT_STATUSES},
)

TICKET_FORMS = {
    spec.name: spec
    for spec in (
        WORK_ORDER_CREATE_SPEC,
        WORK_ORDER_SPEC,
        WORK_INFO_SPEC,
        WORK_LOG_SPEC,
        INCIDENT_CREATE_SPEC,
        INCIDENT_SPEC,
    )
}
# An interface form -> (the ticket form it creates, the ticket's number field, the interface
# field that answers that number).
# A ticket form -> (its notes' form, the notes' field naming the ticket's number).
NOTE_FORMS = {
    WORK_ORDER_FORM: (WORK_INFO_FORM, "Work Order ID"),
    INCIDENT_FORM: (WORK_LOG_FORM, "Incident Number"),
}
INTERFACES = {
    WORK_ORDER_CREATE_FORM: (WORK_ORDER_FORM, "Work Order ID", "WorkOrder_ID"),
    INCIDENT_CREATE_FORM: (INCIDENT_FORM, "Incident Number", "Incident Number"),
}
