"""The API tokens page: a person's own tokens, a new one shown once, revoke."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from msp_portal.errors import NotAllowed
from msp_portal.forms import form_add_error
from msp_portal.tenancy import get_visible_or_404, visible_to

from .forms import TokenCreateForm
from .models import ApiToken
from .services import api_token_create, api_token_revoke, needs_second_factor

TOKENS_SHOWN = 100


def _page(request: HttpRequest, form: TokenCreateForm, *, new=None, status=200) -> HttpResponse:
    tokens = list(visible_to(request.user, ApiToken).order_by("-created_at", "-id")[:TOKENS_SHOWN])
    return TemplateResponse(
        request,
        "api/token_list.html",
        {"form": form, "tokens": tokens, "new": new, "staff": needs_second_factor(request.user)},
        status=status,
    )


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    staff = needs_second_factor(request.user)
    if request.method != "POST":
        return _page(request, TokenCreateForm(staff=staff))
    form = TokenCreateForm(request.POST, staff=staff)
    if form.is_valid():
        try:
            new = api_token_create(request=request, **form.cleaned_data)
        except NotAllowed as error:
            form_add_error(form, error)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            # The secret is in this response only: no redirect, so it is never stored anywhere.
            return _page(request, TokenCreateForm(staff=staff), new=new)
    return _page(request, form, status=400)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_visible_or_404(request.user, ApiToken, pk=pk)
    try:
        api_token_revoke(actor=request.user, token=token)
    except NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{token} is revoked: calls with it are refused from now on.")
    return redirect("api:token_list")
