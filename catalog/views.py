"""Pages of catalog administrators: services (list, search, create, edit) and categories."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from msp_portal.auth import permission_required
from msp_portal.forms import form_add_error, form_errors_text
from msp_portal.pagination import keyset_page
from msp_portal.tenancy import CHANGE, get_visible_or_404

from . import selectors, services
from .forms import CategoryForm, QuestionForm, ServiceFilterForm, ServiceForm, question_initial
from .models import Question, Service
from .questions import answers_from_post, questions_asked

TRANSITIONS = {
    "publish": (
        services.service_publish,
        "“{name}” is published: it can now be assigned to customers.",
    ),
    "retire": (
        services.service_retire,
        "“{name}” is retired: it can no longer be assigned, and end users no longer see it. "
        "Publish it again to bring it back.",
    ),
}


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


@permission_required("catalog.view_service")
def service_list(request: HttpRequest) -> HttpResponse:
    form = ServiceFilterForm(request.GET or None, user=request.user)
    filters = form.filters() if form.is_bound else {}
    page = keyset_page(
        selectors.service_list(user=request.user, **filters),
        ordering=("name", "id"),
        cursor=request.GET.get("after"),
    )
    query = request.GET.copy()
    query.pop("after", None)
    template = "catalog/service_list.html"
    if _wants_partial(request):
        template += "#results"
    response = TemplateResponse(
        request,
        template,
        {"form": form, "page": page, "query": query.urlencode(), "filtered": bool(filters)},
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@permission_required("catalog.add_service")
def service_create(request: HttpRequest) -> HttpResponse:
    form = ServiceForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            service = services.service_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(
                request,
                f"“{service.name}” created as a draft. Publish it when it is ready to be "
                "assigned to customers.",
            )
            return redirect("catalog:service_edit", pk=service.pk)
    return TemplateResponse(
        request,
        "catalog/service_create.html",
        {"form": form, "has_categories": form.fields["category"].queryset.exists()},
    )


def _service_initial(service: Service) -> dict:
    return {
        "name": service.name,
        "category": service.category_id,
        "description": service.description,
        "price": service.price,
        "min_quantity": service.min_quantity,
        "max_quantity": service.max_quantity,
        "approval_policy": service.approval_policy,
        "approval_threshold": service.approval_threshold,
    }


@permission_required("catalog.change_service")
def service_edit(request: HttpRequest, pk: int) -> HttpResponse:
    service = get_visible_or_404(request.user, selectors.service_list(user=request.user), pk=pk)
    transition = request.POST.get("transition") if request.method == "POST" else None
    if transition is not None:
        if transition not in TRANSITIONS:
            return HttpResponseBadRequest("Unknown change of status.")
        action, done = TRANSITIONS[transition]
        try:
            action(actor=request.user, service=service)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, done.format(name=service.name))
        return redirect("catalog:service_edit", pk=service.pk)
    form = ServiceForm(request.POST or None, initial=_service_initial(service), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.service_update(actor=request.user, service=service, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"“{form.cleaned_data['name'].strip()}” saved.")
            return redirect("catalog:service_list")
    return TemplateResponse(
        request,
        "catalog/service_edit.html",
        {
            "form": form,
            "service": service,
            "history": selectors.service_history(service=service),
            **_questions_context(request, service),
        },
    )


# ---------------------------------------------------------------------------------------------
# Questions (R1): the service's form, edited in place with htmx (each change draws the questions
# card again, preview included); without scripts each change goes back to the service's page.
# ---------------------------------------------------------------------------------------------


def _questions_context(
    request: HttpRequest,
    service: Service,
    *,
    questions: list[Question] | None = None,
    add_form: QuestionForm | None = None,
    editing: Question | None = None,
    edit_form: QuestionForm | None = None,
) -> dict:
    if questions is None:
        questions = selectors.question_list(service=service)
    label_of = {q.pk: q.label for q in questions}
    rows = [
        {
            "question": q,
            "condition": q.condition_label(label_of),
            "first": i == 0,
            "last": i == len(questions) - 1,
        }
        for i, q in enumerate(questions)
    ]
    if edit_form is None and editing is not None:
        edit_form = QuestionForm(
            initial=question_initial(editing),
            before=selectors.questions_before(questions, editing),
            prefix="edit",
        )
    preview_answers = answers_from_post(request.GET, questions) if request.method == "GET" else {}
    return {
        "service": service,
        "question_rows": rows,
        "add_form": add_form or QuestionForm(before=questions, prefix="add"),
        "editing": editing,
        "edit_form": edit_form,
        "asked": questions_asked(questions, preview_answers),
        "refresh_url": reverse("catalog:question_preview", args=[service.pk]),
        "colleague_url": None,
    }


def _questions_card(request: HttpRequest, service: Service, **context) -> HttpResponse:
    """The questions card alone (htmx), or back to the service's page."""
    if _wants_partial(request):
        return TemplateResponse(
            request,
            "catalog/service_edit.html#questions",
            # Drawn alone, the card shows the messages the page would have shown on top.
            {**_questions_context(request, service, **context), "partial": True},
        )
    return redirect(reverse("catalog:service_edit", args=[service.pk]) + "#questions")


def _editable_service(request: HttpRequest, pk: int) -> Service:
    return get_visible_or_404(
        request.user, selectors.service_list(user=request.user), action=CHANGE, pk=pk
    )


def _question(service: Service, question_pk: int) -> Question:
    question = service.questions.filter(pk=question_pk).first()
    if question is None:
        raise Http404("No such question in this service.")
    return question


def _refused(request: HttpRequest, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


@permission_required("catalog.change_service")
@require_POST
def question_add(request: HttpRequest, pk: int) -> HttpResponse:
    service = _editable_service(request, pk)
    questions = selectors.question_list(service=service)
    form = QuestionForm(request.POST, before=questions, prefix="add")
    if form.is_valid():
        try:
            question = services.question_add(
                actor=request.user, service=service, **form.cleaned_data
            )
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"Question “{question.label}” added at the end of the form.")
            return _questions_card(request, service)
    if not _wants_partial(request):
        messages.error(request, "The question was not added: " + form_errors_text(form))
    return _questions_card(request, service, questions=questions, add_form=form)


@permission_required("catalog.change_service")
def question_edit(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    service = _editable_service(request, pk)
    question = _question(service, question_pk)
    if request.method != "POST":
        if _wants_partial(request):
            return _questions_card(request, service, editing=question)
        return TemplateResponse(
            request,
            "catalog/service_edit.html",
            {
                "form": ServiceForm(initial=_service_initial(service), user=request.user),
                "service": service,
                "history": selectors.service_history(service=service),
                **_questions_context(request, service, editing=question),
            },
        )
    questions = selectors.question_list(service=service)
    before = selectors.questions_before(questions, question)
    form = QuestionForm(request.POST, before=before, prefix="edit")
    if form.is_valid():
        try:
            services.question_update(actor=request.user, question=question, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"Question “{form.cleaned_data['label'].strip()}” saved.")
            return _questions_card(request, service)
    if not _wants_partial(request):
        messages.error(request, "The question was not saved: " + form_errors_text(form))
    return _questions_card(request, service, questions=questions, editing=question, edit_form=form)


@permission_required("catalog.change_service")
@require_POST
def question_delete(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    service = _editable_service(request, pk)
    question = _question(service, question_pk)
    try:
        services.question_delete(actor=request.user, question=question)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            f"Question “{question.label}” deleted. Requests already made keep their answers.",
        )
    return _questions_card(request, service)


@permission_required("catalog.change_service")
@require_POST
def question_move(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    service = _editable_service(request, pk)
    question = _question(service, question_pk)
    direction = request.POST.get("direction", "")
    try:
        services.question_move(actor=request.user, question=question, direction=direction)
    except ValidationError as error:
        _refused(request, error)
    return _questions_card(request, service)


@permission_required("catalog.view_service")
def question_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the preview drawn again for the answers tried in it (conditions shown or hidden)."""
    service = get_visible_or_404(request.user, selectors.service_list(user=request.user), pk=pk)
    questions = selectors.question_list(service=service)
    return TemplateResponse(
        request,
        "catalog/question_fields.html",
        {
            "asked": questions_asked(questions, answers_from_post(request.GET, questions)),
            "refresh_url": reverse("catalog:question_preview", args=[service.pk]),
            "colleague_url": None,
        },
    )


@permission_required("catalog.view_category")
def category_list(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("catalog.add_category"):
            return HttpResponse(status=403)
        if form.is_valid():
            try:
                category = services.category_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form_add_error(form, error)
            else:
                messages.success(
                    request,
                    f"Category “{category.name}” created. File services under it when you "
                    "create or edit them.",
                )
                return redirect("catalog:category_list")
    page = keyset_page(
        selectors.category_list_with_counts(user=request.user),
        ordering=("name", "id"),
        cursor=request.GET.get("after"),
    )
    return TemplateResponse(request, "catalog/category_list.html", {"form": form, "page": page})


@permission_required("catalog.change_category")
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_visible_or_404(request.user, selectors.category_list(user=request.user), pk=pk)
    initial = {"name": category.name, "description": category.description}
    form = CategoryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.category_update(actor=request.user, category=category, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"Category “{form.cleaned_data['name'].strip()}” saved.")
            return redirect("catalog:category_list")
    return TemplateResponse(
        request, "catalog/category_edit.html", {"form": form, "category": category}
    )
