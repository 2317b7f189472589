"""removal_confirmed: the POST of every confirmation page says what happened and where to go."""

from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.test import RequestFactory

from msp_portal.errors import DomainError
from msp_portal.views import removal_confirmed


def _post():
    request = RequestFactory().post("/remove/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def _refuse():
    raise DomainError("The last administrator stays; name another one first.")


def test_a_removal_done_says_so_and_goes_on():
    request, removed = _post(), []
    response = removal_confirmed(
        request, lambda: removed.append(1), done="Gone.", then="/list/", refused="/back/"
    )
    assert removed == [1]
    assert (response.status_code, response.url) == (302, "/list/")
    assert [str(m) for m in get_messages(request)] == ["Gone."]


def test_a_refused_removal_says_why_and_goes_back():
    request = _post()
    response = removal_confirmed(request, _refuse, done="Gone.", then="/list/", refused="/back/")
    assert response.url == "/back/"
    assert [(m.level_tag, str(m)) for m in get_messages(request)] == [
        ("error", "The last administrator stays; name another one first.")
    ]


def test_without_a_way_back_a_refusal_goes_on_too():
    request = _post()
    assert removal_confirmed(request, _refuse, done="Gone.", then="/list/").url == "/list/"
