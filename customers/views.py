"""Pages of customers; first of them, the MSP mode page of system administrators."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from msp_portal.auth import permission_required
from msp_portal.forms import form_add_error
from msp_portal.selectors import installation_get, msp_mode_get, release_change_list

from . import selectors, services
from .forms import MspEnableForm, MspRequestForm
from .readiness import msp_readiness


@permission_required("msp_portal.manage_msp_mode")
def msp_mode(request: HttpRequest) -> HttpResponse:
    saas = settings.DEPLOYMENT_MODE == "saas"
    form_class = MspRequestForm if saas else MspEnableForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if saas:
                ticket = services.msp_request_file(actor=request.user, **form.cleaned_data)
                messages.success(
                    request,
                    f"Request filed as ticket #{ticket.pk}. The operator will switch "
                    "MSP mode on and you will see it here.",
                )
            else:
                services.msp_enable(actor=request.user)
                messages.success(request, "MSP mode is on. You can now add customers.")
        except ValidationError as error:
            form_add_error(form, error)
        else:
            return redirect("customers:msp_mode")
    mode = msp_mode_get()
    return TemplateResponse(
        request,
        "customers/msp_mode.html",
        {
            "mode": mode,
            "readiness": None if mode.enabled else msp_readiness(),
            "form": form,
            "saas": saas,
            "installation": installation_get(),
            "release_changes": list(release_change_list()[:20]),
            "requests": list(selectors.msp_request_list()[:10]),
        },
    )
