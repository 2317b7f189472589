"""Who may open each URL of this area; merged into tests/security/access.py's ACCESS.

A customer administrator is also an end user of their customer, so the end-user pages are
theirs too; customer B's administrator and end user reach their own catalog and requests, and
get 404 on anything of customer A's.
"""

from .access import (
    CATALOG_ADMIN,
    CUSTOMER_ADMIN,
    END_USER,
    OUTSIDER,
    OUTSIDER_END_USER,
    POSTED,
    Access,
)

END_USERS = frozenset({CUSTOMER_ADMIN, END_USER, OUTSIDER, OUTSIDER_END_USER})
HANDLERS = frozenset({CUSTOMER_ADMIN, CATALOG_ADMIN, OUTSIDER})
# Customer A's request: its requester (Eve), A's administrators and catalog administrators.
REQUEST_READERS = frozenset({CUSTOMER_ADMIN, CATALOG_ADMIN, END_USER})


def _eve_request(w) -> dict:
    """A request of customer A's end user Eve, made the way she would make it."""
    from entitlements.services import request_submit

    request = request_submit(
        actor=w["a"]["eve"], service=w["a"]["service"], quantity=1, justification="Planted"
    )
    return {"pk": request.pk}


def _a_service(w) -> dict:
    _ask_questions(w["a"]["service"])
    return {"pk": w["a"]["service"].pk}


def _ask_questions(service) -> None:
    """Optional questions of every kind on A's service (one shown only for a choice), so the
    bad-input harness fills the answers of the request form too (issue 15)."""
    from catalog.models import Question

    if service.questions.exists():
        return
    kinds = [
        ("single_choice", ["Standard", "Pro"]),
        ("yes_no", []),
        ("short_text", []),
        ("long_text", []),
        ("number", []),
        ("date", []),
        ("multiple_choice", ["Office", "Slack"]),
        ("colleague", []),
    ]
    questions = [
        Question.objects.create(
            service=service, position=i, kind=kind, label=f"Question {i}", choices=choices
        )
        for i, (kind, choices) in enumerate(kinds, start=1)
    ]
    gpu = questions[1]
    gpu.condition_question, gpu.condition_operator, gpu.condition_value = questions[0], "is", "Pro"
    gpu.save()


ACCESS: dict[str, Access] = {
    "portal:catalog": Access(END_USERS),
    "portal:service_detail": Access(
        frozenset({CUSTOMER_ADMIN, END_USER}), kwargs=_a_service, owner="a"
    ),
    "portal:request_create": Access(
        frozenset({CUSTOMER_ADMIN, END_USER}),
        kwargs=_a_service,
        method="post",
        owner="a",
        ok=POSTED,
    ),
    # The questions drawn again as answers change, and the colleague search (issue 15): an end
    # user's own service and own colleagues only.
    "portal:request_questions": Access(
        frozenset({CUSTOMER_ADMIN, END_USER}), kwargs=_a_service, owner="a"
    ),
    "portal:colleague_options": Access(END_USERS),
    "portal:my_requests": Access(END_USERS),
    "portal:request_cancel": Access(
        frozenset({END_USER}), kwargs=_eve_request, method="post", owner="a", ok=POSTED
    ),
    "portal:request_list": Access(HANDLERS),
    "portal:request_export": Access(HANDLERS),
    "portal:request_detail": Access(REQUEST_READERS, kwargs=_eve_request, owner="a"),
    "portal:request_transition": Access(
        REQUEST_READERS, kwargs=_eve_request, method="post", owner="a", ok=POSTED
    ),
}
