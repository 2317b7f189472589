"""Who may open each URL of approvals; merged into tests/security/access.py's ACCESS.

Approvers only: customer administrators (their own customer's requests) and catalog
administrators; everyone else gets 403. B's administrator gets 404 on anything of customer A's.
An e-mailed link opens for the approver it was sent to alone: A's catalog administrator, who
may see the request, gets 403 on A's administrator's link.
"""

from .access import CATALOG_ADMIN, CUSTOMER_ADMIN, OUTSIDER, POSTED, Access

APPROVERS = frozenset({CATALOG_ADMIN, CUSTOMER_ADMIN, OUTSIDER})


def _waiting_request(w):
    """A request of customer A's end user Eve, for a service that needs A's approval."""
    from catalog.models import ApprovalPolicy
    from entitlements.services import request_submit

    service = w["a"]["service"]
    service.approval_policy = ApprovalPolicy.CUSTOMER_ADMIN
    service.save(update_fields=["approval_policy"])
    return request_submit(actor=w["a"]["eve"], service=service, quantity=1, justification="Planted")


def _waiting(w) -> dict:
    return {"pk": _waiting_request(w).pk}


def _admins_link(w) -> dict:
    """The approve link A's administrator would find in their e-mail."""
    from approvals.links import link_token
    from approvals.models import ApprovalStep
    from approvals.services import approval_links_make

    request = _waiting_request(w)
    step = ApprovalStep.objects.get(request=request)
    link = approval_links_make(step=step, approvers=[w["a"]["admin"]], round=0)[w["a"]["admin"].pk]
    return {"pk": request.pk, "token": link_token(link=link, decision="approve")}


ACCESS: dict[str, Access] = {
    "approvals:approval_list": Access(APPROVERS),
    "approvals:approval_count": Access(APPROVERS),
    "approvals:approval_decide": Access(
        frozenset({CATALOG_ADMIN, CUSTOMER_ADMIN}),
        kwargs=_waiting,
        method="post",
        owner="a",
        ok=POSTED,
    ),
    "approvals:link_confirm": Access(frozenset({CUSTOMER_ADMIN}), kwargs=_admins_link, owner="a"),
}
