"""Sign-in through the test SAML IdP (tests/idp/saml_idp.py) as a browser without JavaScript
does: plain HTTP with cookies, each form submitted by hand."""

import re
from html import unescape

import httpx


def form_of(page: str) -> tuple[str, dict]:
    """The first form's action and hidden fields."""
    action = unescape(re.search(r'<form[^>]*action="([^"]*)"', page).group(1))
    fields = {
        unescape(name): unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }
    return action, fields


def saml_login_page(portal: httpx.Client, typed: str) -> httpx.Response:
    """The IdP's sign-in page, reached from the portal's sign-in page with typed."""
    portal.get("/login/")
    going = portal.post(
        "/login/", data={"username": typed, "csrfmiddlewaretoken": portal.cookies["csrftoken"]}
    )
    target = re.search(r'href="([^"]+)" data-testid="sso-continue"', going.text).group(1)
    return portal.get(unescape(target))


def saml_response_for(
    portal: httpx.Client, login: str, *, typed: str = "", craft: str = ""
) -> tuple[str, dict]:
    """The ACS URL and the fields (SAMLResponse, RelayState) the IdP posts back for login;
    craft asks the IdP for a hostile answer (tests/idp/saml_idp.py)."""
    page = saml_login_page(portal, typed or login)
    action, fields = form_of(page.text)
    answer = portal.post(
        str(page.url.join(action)),
        data={**fields, "login": login, "password": "anything", "craft": craft},
    )
    return form_of(answer.text)


def saml_sign_in(portal: httpx.Client, login: str, *, typed: str = "") -> httpx.Response:
    acs, fields = saml_response_for(portal, login, typed=typed)
    return portal.post(acs, data=fields)
