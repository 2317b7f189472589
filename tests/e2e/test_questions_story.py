"""Questions per service and a request for a colleague, in the browser (issue 15 items 1, 3):
a catalog administrator adds questions with a condition and tries them in the preview; an end
user requests the service for a colleague, the conditional question appears when its condition
is met, and the request page shows the answers as they were asked."""

import re

import pytest
from playwright.sync_api import expect

from entitlements.models import ServiceRequest
from tests.accounts.factories import PASSWORD

from .conftest import add_question, both_widths, login, request_form_for_ed

pytestmark = pytest.mark.e2e


def test_questions_and_a_request_for_a_colleague(page, shot, tenant_a, catalog_admin):
    service = tenant_a["service"]

    # The catalog administrator builds the form and tries it in the preview.
    login(page, "catadmin", PASSWORD)
    page.goto(f"/catalog/services/{service.pk}/")
    expect(page.get_by_test_id("questions-card")).to_contain_text("No questions yet")
    add_question(page, "Model", "Single choice", choices=["Standard", "Pro"], required=True)
    add_question(page, "Needs a GPU?", "Yes or no", required=True, when=("Model", "Pro"))
    add_question(page, "Buddy for the first week", "A colleague")
    add_question(page, "Wanted by", "Date")
    rows = page.get_by_test_id("question-row")
    expect(rows).to_have_count(4)
    expect(rows.nth(1)).to_contain_text("Shown when “Model” is “Pro”")
    preview = page.get_by_test_id("question-preview")
    gpu = preview.locator("[data-label='Needs a GPU?']")
    expect(gpu).to_be_hidden()
    preview.get_by_label("Pro").check()
    page.wait_for_load_state("networkidle")
    expect(gpu).to_be_visible()
    both_widths(page, shot, "questions-01-editor-and-preview")

    # A condition on a question that comes later is refused with a clear message.
    page.get_by_role("button", name="Move “Wanted by” up").click()
    expect(page.get_by_test_id("question-row").nth(2)).to_contain_text("Wanted by")
    page.get_by_role("button", name="Move “Needs a GPU?” up").click()
    expect(page.get_by_text("must come after it")).to_be_visible()

    # The end user requests it for a colleague.
    form = request_form_for_ed(page, service, justification="Ed starts on Monday")
    answers = form.get_by_test_id("answers")
    gpu = answers.locator("[data-label='Needs a GPU?']")
    answers.get_by_label("Standard").check()
    page.wait_for_load_state("networkidle")
    expect(gpu).to_be_hidden()
    answers.get_by_label("Pro").check()
    expect(gpu).to_be_visible()
    # Submitted without the shown, required answer: said by the question, the rest kept.
    page.get_by_role("button", name="Submit request").click()
    expect(gpu.get_by_test_id("answer-error")).to_have_text(
        "Answer “Needs a GPU?”: this service needs it to go ahead."
    )
    expect(form.get_by_test_id("beneficiary-options").get_by_role("radio")).to_be_checked()
    expect(answers.get_by_label("Pro")).to_be_checked()
    assert not ServiceRequest.objects.exists()
    both_widths(page, shot, "questions-02-request-form-refused")
    gpu.get_by_label("Yes").check()
    answers.locator("input[type=search]").fill("Admin")
    answers.get_by_test_id("colleague-options").get_by_text("Admin Acme").click()
    answers.get_by_label("Wanted by").fill("2027-01-04")
    both_widths(page, shot, "questions-02-request-form")
    page.get_by_role("button", name="Submit request").click()
    expect(page).to_have_url(re.compile(r"/portal/my-requests/$"))
    expect(page.get_by_text("for Ed Stone is submitted")).to_be_visible()

    request = ServiceRequest.objects.get()
    assert request.beneficiary == tenant_a["ed"]
    page.goto(f"/portal/requests/{request.pk}/")
    expect(page.get_by_test_id("request-beneficiary")).to_contain_text("Ed Stone")
    shown = page.get_by_test_id("request-answers")
    for text in ("Model", "Pro", "Needs a GPU?", "Yes", "Admin Acme", "4 Jan 2027"):
        expect(shown).to_contain_text(text)
    both_widths(page, shot, "questions-03-request-page")

    # The colleague sees the request made for them.
    page.context.clear_cookies()
    login(page, "acme-ed", PASSWORD)
    page.goto("/portal/my-requests/")
    expect(page.get_by_test_id("request-people")).to_contain_text("Requested for you by Eve Finch")
    assert page.console_errors == [], page.console_errors[:3]
