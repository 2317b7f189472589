"""Every API error as an RFC 9457 problem details document (application/problem+json).

`type` names the kind of problem (a URI under /api/problems/), `title` says it in a few words,
`detail` says what to do; a refused form or body adds `errors`: field name → messages (the
messages the pages show). A use case's refusal (msp_portal.errors.DomainError) is a 400, its
NotAllowed a 403; outside the caller's scope is a 404, exactly as on the pages (T1).
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from msp_portal.errors import NotAllowed

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "/api/problems/"

TITLES = {
    400: ("invalid", "Your request was refused"),
    401: ("unauthenticated", "A valid API token is needed"),
    403: ("forbidden", "You may not do this"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    415: ("unsupported-media-type", "Send JSON"),
    422: ("idempotency-key-reused", "This Idempotency-Key was used for another request"),
    429: ("throttled", "Too many requests"),
}

DEFAULT_DETAIL = {
    400: "Correct the fields listed in `errors` and send the request again.",
    404: "Nothing with this id is yours to see: check the id, or list the collection to find it.",
    405: "This address does not take that method; the API reference (/api/v1/docs/) lists the "
    "ones it takes.",
    406: "Ask for application/json (or leave out the Accept header).",
    415: "Send the body as JSON with `Content-Type: application/json`.",
}


def problem(status_code: int, detail: str = "", *, errors: dict | None = None, headers=None):
    """A problem details response."""
    slug, title = TITLES.get(status_code, ("error", "Error"))
    body = {
        "type": f"{TYPE_BASE}{slug}",
        "title": title,
        "status": status_code,
        "detail": detail or DEFAULT_DETAIL.get(status_code, title + "."),
    }
    if errors:
        body["errors"] = errors
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_TYPE)


def _flat(detail) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _flat(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _flat(value)]
    return [str(detail)]


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(k): _flat(v) for k, v in detail.items()}
    return {"non_field_errors": _flat(detail)}


def _django_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if k == "__all__" else k): list(v)
            for k, v in error.message_dict.items()
        }
    return {"non_field_errors": list(error.messages)}


def problem_exception_handler(exc, context):
    if isinstance(exc, NotAllowed):
        return problem(status.HTTP_403_FORBIDDEN, " ".join(exc.messages))
    if isinstance(exc, DjangoValidationError):
        errors = _django_errors(exc)
        return problem(400, " ".join(m for ms in errors.values() for m in ms), errors=errors)
    if isinstance(exc, Http404):
        return problem(404)
    if isinstance(exc, DjangoPermissionDenied):
        return problem(403, str(exc) or "Your role does not allow this.")
    response = exception_handler(exc, context)
    if response is None:
        return None  # a programming error: Django's 500 page, logged
    headers = {
        k: v
        for k, v in response.headers.items()
        if k in ("Retry-After", "Allow", "WWW-Authenticate")
    }
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        return problem(400, DEFAULT_DETAIL[400], errors=errors, headers=headers)
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        headers["Retry-After"] = str(wait)
        return problem(
            429,
            f"Slow down: this token or address made too many calls. Try again in {wait} seconds.",
            headers=headers,
        )
    detail = " ".join(_flat(exc.detail)) if hasattr(exc, "detail") else ""
    if response.status_code in DEFAULT_DETAIL and response.status_code != 400:
        detail = DEFAULT_DETAIL[response.status_code]
    return problem(response.status_code, detail, headers=headers)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


PROBLEM_STATUSES = {
    "400": "The request was refused: `detail` and `errors` say what to correct.",
    "401": "No valid token: send `Authorization: Bearer <token>`.",
    "403": "The token's owner may not do this, or the token is read-only.",
    "404": "Not found, or outside the token owner's scope.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "415": "Unsupported media type: send JSON.",
    "422": "The Idempotency-Key was used before with another request.",
    "429": "Rate limited: retry after `Retry-After` seconds.",
}


def document_problems(result, generator, request, public):
    """Schema post-processing: every operation may answer with these problems."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
        "required": ["type", "title", "status", "detail"],
    }
    ref = {"$ref": "#/components/schemas/Problem"}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code, description in PROBLEM_STATUSES.items():
                operation["responses"].setdefault(
                    code, {"description": description, "content": {PROBLEM_TYPE: {"schema": ref}}}
                )
    return result


@csrf_exempt  # no session, no form: nothing for a forged request to do here
def not_found(request, *args, **kwargs):
    """Any address under /api/v1/ that no route takes (an id that is not a number, a typo): the
    API's 404, as problem details rather than the pages' HTML."""
    from django.http import JsonResponse

    slug, title = TITLES[404]
    return JsonResponse(
        {
            "type": f"{TYPE_BASE}{slug}",
            "title": title,
            "status": 404,
            "detail": "No API route has this address: the reference at /api/v1/docs/ lists them "
            "(ids are whole numbers).",
        },
        status=404,
        content_type=PROBLEM_TYPE,
    )
