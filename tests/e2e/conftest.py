"""Browser tests: a real Chromium against the live test server; screenshots go to artifacts/."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = errors
    yield page
    context.close()


@pytest.fixture
def shot():
    """Save a full-page screenshot under artifacts/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def login(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail or username").fill(username)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def both_widths(page, shot, name: str) -> None:
    """Screenshots `name-1280` and `name-390` (a phone), the page left at 1280 px."""
    shot(page, f"{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    # A screenshot hides the caret with an inline style on each input and leaves style="" behind;
    # htmx would copy that attribute while settling a swap, which the CSP refuses (a message of
    # the camera's, not the page's): the page is put back as it was.
    page.evaluate(
        "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
    )


def add_question(
    page, label: str, kind: str, *, choices=(), required=False, when: tuple[str, str] | None = None
) -> None:
    """Adds a question on the service page open in `page` (`when`: shown only when that question
    is that value), and waits for it to be said added."""
    form = page.get_by_test_id("question-add-form")
    field = form.locator
    field("[name='add-label']").fill(label)
    field("[name='add-kind']").select_option(label=kind)
    if choices:
        field("[name='add-choices']").fill("\n".join(choices))
    if required:
        form.get_by_label("Required").check()
    if when:
        question, value = when
        field("[name='add-condition_question']").select_option(label=question)
        field("[name='add-condition_operator']").select_option(label="is")
        field("[name='add-condition_value']").fill(value)
    form.get_by_role("button", name="Add question").click()
    expect(page.get_by_text(f"Question “{label}” added")).to_be_visible()


def request_form_for_ed(page, service, *, justification: str):
    """Signs in afresh as Eve (an end user of customer A), opens the service's request form,
    writes the justification and chooses her colleague Ed Stone; returns the form."""
    page.context.clear_cookies()
    login(page, "acme-eve", PASSWORD)
    page.goto(f"/portal/catalog/{service.pk}/")
    form = page.get_by_test_id("request-form")
    form.get_by_label("Justification").fill(justification)
    form.locator("#id_beneficiary_search").fill("Stone")
    form.get_by_test_id("beneficiary-options").get_by_text("Ed Stone").click()
    return form
