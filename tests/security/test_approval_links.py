"""Approvals across customers and approvers (T1, R3): an approver of one customer can't see or
decide another's requests (404), and a signed link made for one approver or one request is
refused for any other, writing nothing."""

import pytest
from django.urls import reverse

from approvals.links import link_token
from approvals.models import ApprovalLink, ApprovalStep, StepStatus
from approvals.services import approval_links_make
from catalog.models import ApprovalPolicy
from entitlements.models import RequestStatus
from entitlements.services import request_submit

pytestmark = pytest.mark.django_db


def waiting(tenant):
    service = tenant["service"]
    service.approval_policy = ApprovalPolicy.CUSTOMER_ADMIN
    service.save(update_fields=["approval_policy"])
    return request_submit(actor=tenant["eve"], service=service, quantity=1, justification="x")


def link_for(request, approver) -> str:
    step = ApprovalStep.objects.get(request=request)
    link = approval_links_make(step=step, approvers=[approver], round=0)[approver.pk]
    token = link_token(link=link, decision="approve")
    return reverse("approvals:link_confirm", kwargs={"pk": request.pk, "token": token})


def nothing_decided(*requests) -> bool:
    for request in requests:
        request.refresh_from_db()
        if request.status != RequestStatus.AWAITING_APPROVAL:
            return False
    return (
        not ApprovalStep.objects.exclude(status=StepStatus.PENDING).exists()
        and not ApprovalLink.objects.filter(used_at__isnull=False).exists()
    )


def test_another_customers_approver_neither_sees_nor_decides(client, tenant_a, tenant_b):
    a_request = waiting(tenant_a)
    b_request = waiting(tenant_b)
    client.force_login(tenant_b["admin"])
    listed = client.get(reverse("approvals:approval_list")).context["page"].rows
    assert [s.request_id for s in listed] == [b_request.pk]
    decide = reverse("approvals:approval_decide", kwargs={"pk": a_request.pk})
    assert client.post(decide, {"decision": "approve"}).status_code == 404
    detail = reverse("portal:request_detail", kwargs={"pk": a_request.pk})
    assert client.get(detail).status_code == 404
    # Even holding A's administrator's link, B's administrator finds no such request.
    a_link = link_for(a_request, tenant_a["admin"])
    assert client.get(a_link).status_code == 404
    assert client.post(a_link, {"note": ""}).status_code == 404
    assert nothing_decided(a_request, b_request)


def test_a_link_for_one_approver_is_refused_for_another(client, tenant_a, catalog_admin):
    request = waiting(tenant_a)
    url = link_for(request, tenant_a["admin"])
    client.force_login(catalog_admin)  # sees the request, but the link is not theirs
    for response in (client.get(url), client.post(url, {"note": ""})):
        assert response.status_code == 403
        assert b"sent to Admin Acme, not to you" in response.content
    assert nothing_decided(request)


def test_a_link_for_one_request_is_refused_for_another(client, tenant_a, tenant_b):
    a_request = waiting(tenant_a)
    b_request = waiting(tenant_b)
    b_link = link_for(b_request, tenant_b["admin"])
    token = b_link.rstrip("/").split("/")[-1]
    # B's administrator's own token, on A's request: A is outside their scope.
    client.force_login(tenant_b["admin"])
    on_a = reverse("approvals:link_confirm", kwargs={"pk": a_request.pk, "token": token})
    assert client.post(on_a, {"note": ""}).status_code == 404
    # A's administrator holding B's token (forwarded to them): refused, nothing written.
    client.force_login(tenant_a["admin"])
    response = client.post(on_a, {"note": ""})
    assert b"belongs to another request" in response.content
    assert nothing_decided(a_request, b_request)


def test_an_end_user_with_a_link_gets_403(client, tenant_a):
    request = waiting(tenant_a)
    url = link_for(request, tenant_a["admin"])
    client.force_login(tenant_a["eve"])
    assert client.post(url, {"note": ""}).status_code == 403
    assert nothing_decided(request)
