"""What every API view shares: keyset pages, form-parsed bodies, Idempotency-Key, audited writes."""

import hashlib
import json
from collections.abc import Callable

from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import relations, serializers
from rest_framework.exceptions import ParseError
from rest_framework.exceptions import ValidationError as BodyInvalid
from rest_framework.fields import SkipField
from rest_framework.response import Response
from rest_framework.views import APIView

from msp_portal.pagination import KeysetPage, keyset_page

from .models import ApiToken, IdempotentResponse
from .problems import problem
from .services import api_write_record
from .throttles import AddressThrottle

PAGE_SIZE = 50
PAGE_SIZE_MAX = 200
IDEMPOTENCY_KEY_MAX = IdempotentResponse._meta.get_field("key").max_length

CURSOR_PARAMETERS = [
    OpenApiParameter(
        "cursor", OpenApiTypes.STR, description="The `next_cursor` of the previous page."
    ),
    OpenApiParameter(
        "page_size",
        OpenApiTypes.INT,
        description=f"Rows per page, 1–{PAGE_SIZE_MAX} (default {PAGE_SIZE}).",
    ),
]
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    description="Any unique string (a UUID): sending the same request again with the same key "
    "returns the first answer instead of doing it twice.",
)


def page_of(serializer_class: type[serializers.Serializer], name: str):
    """The schema of one page of a list: its rows and the cursor of the next page."""
    return inline_serializer(
        name=name,
        fields={
            "results": serializer_class(many=True),
            "next_cursor": serializers.CharField(allow_null=True),
        },
    )


# Fields whose value rows_data cannot read as a plain chain of attributes.
_NOT_PLAIN = (
    serializers.BaseSerializer,
    serializers.SerializerMethodField,
    serializers.HiddenField,
    relations.RelatedField,
    relations.ManyRelatedField,
)
_plans: dict[type, list | None] = {}


def _plan(serializer_class: type[serializers.Serializer]) -> list | None:
    """(name, attribute chain, field) of each readable field, or None if a field is not plain."""
    if serializer_class not in _plans:
        fields = [f for f in serializer_class().fields.values() if not f.write_only]
        plain = all(not isinstance(f, _NOT_PLAIN) and f.source != "*" for f in fields)
        _plans[serializer_class] = (
            [(f.field_name, f.source_attrs, f) for f in fields] if plain else None
        )
    return _plans[serializer_class]


def rows_data(serializer_class: type[serializers.Serializer], rows) -> list[dict]:
    """`serializer_class(rows, many=True).data`, equal to it, at a third of the cost.

    The serializer stays the one description of the shape (and of the schema); for a list,
    DRF's per-field, per-row machinery costs more than the query (0.9 ms of a 6 ms page of 50
    customers). Here each field's value is read as a plain attribute chain and converted by the
    field itself; anything unusual (a None or a callable on the way, a dict row) takes DRF's own
    path for that value. tests/api/test_rows_data.py checks equality for every list.
    """
    plan = _plan(serializer_class)
    if plan is None:
        return serializer_class(rows, many=True).data
    data = []
    for row in rows:
        item = {}
        for name, attrs, field in plan:
            value = row
            try:
                for attr in attrs:
                    value = getattr(value, attr)
            except (AttributeError, ObjectDoesNotExist):
                value = field  # a marker: read it DRF's way below
            if value is field or callable(value):
                try:
                    value = field.get_attribute(row)
                except SkipField:
                    continue
            item[name] = None if value is None else field.to_representation(value)
        data.append(item)
    return data


class ApiView(APIView):
    """Base of every API view: calls are counted per address before the token is even looked
    at (so guessing tokens is limited too), then per token; writes made with a token are
    audited naming the token (T3)."""

    def initial(self, request, *args, **kwargs):
        address = AddressThrottle()
        if not address.allow_request(request, self):
            self.throttled(request, address.wait())
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Only a token already checked: a call refused before that (429) must not look it up.
        token = getattr(request, "_auth", None)
        if (
            request.method not in ("GET", "HEAD", "OPTIONS")
            and isinstance(token, ApiToken)
            and 200 <= response.status_code < 300
        ):
            api_write_record(
                token=token,
                method=request.method,
                path=request.path,
                status=response.status_code,
            )
        return response

    # -- reading -----------------------------------------------------------------------------

    def page(
        self,
        rows: QuerySet,
        *,
        ordering: tuple[str, ...],
        serializer: type[serializers.Serializer] | None = None,
        serialize: Callable[[list], list] | None = None,
    ) -> Response:
        """One keyset page of rows (constant queries however deep), and the next page's cursor;
        rows shown by serializer, or by serialize when a list needs more than one."""
        size = self._page_size()
        page = keyset_page(
            rows, ordering=ordering, cursor=self.request.query_params.get("cursor"), size=size
        )
        results = serialize(page.rows) if serialize else rows_data(serializer, page.rows)
        return Response({"results": results, "next_cursor": page.next_cursor})

    def page_from(
        self, fetch: Callable[..., KeysetPage], *, serializer: type[serializers.Serializer]
    ) -> Response:
        """As page, for a list that fetches its own pages: fetch(cursor=…, size=…)."""
        page = fetch(cursor=self.request.query_params.get("cursor"), size=self._page_size())
        return Response(
            {"results": rows_data(serializer, page.rows), "next_cursor": page.next_cursor}
        )

    def _page_size(self) -> int:
        raw = self.request.query_params.get("page_size", "")
        if not raw:
            return PAGE_SIZE
        if not raw.isdigit() or not 1 <= int(raw) <= PAGE_SIZE_MAX:
            raise BodyInvalid({"page_size": [f"Ask for 1 to {PAGE_SIZE_MAX} rows per page."]})
        return int(raw)

    # -- writing -----------------------------------------------------------------------------

    def body(self) -> dict:
        """The JSON body as an object, or a 400 saying to send one."""
        data = self.request.data
        if not isinstance(data, dict):
            raise ParseError("Send a JSON object (`{…}`) as the body.")
        return data

    def parsed(self, form_class: type[forms.Form], **kwargs) -> dict:
        """The body checked by the page's own form: the same rules and messages as the page."""
        return self.parsed_form(form_class(self.body(), **kwargs))

    def parsed_form(self, form: forms.Form) -> dict:
        """A bound form's cleaned data, or a 400 with its messages per field."""
        if not form.is_valid():
            raise BodyInvalid(
                {
                    ("non_field_errors" if name == "__all__" else name): list(messages)
                    for name, messages in form.errors.items()
                }
            )
        return form.cleaned_data

    def idempotent(self, create: Callable[[], Response]) -> Response:
        """Run create once per Idempotency-Key and owner; a replay gets the first answer."""
        key = self.request.headers.get("Idempotency-Key")
        if key is None:
            return create()
        if not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
            raise BodyInvalid(
                {
                    "Idempotency-Key": [
                        f"Send a key of 1 to {IDEMPOTENCY_KEY_MAX} printable characters, such as a UUID."
                    ]
                }
            )
        owner = self.request.user
        body = json.dumps(self.request.data, sort_keys=True, cls=DjangoJSONEncoder)
        fingerprint = hashlib.sha256(
            f"{self.request.method}\n{self.request.path}\n{body}".encode()
        ).hexdigest()
        stored = IdempotentResponse.objects.filter(owner=owner, key=key).first()
        if stored is None:
            try:
                with transaction.atomic():
                    response = create()
                    if response.status_code < 300:
                        IdempotentResponse.objects.create(
                            owner=owner,
                            key=key,
                            fingerprint=fingerprint,
                            status=response.status_code,
                            body=json.loads(json.dumps(response.data, cls=DjangoJSONEncoder)),
                        )
                    return response
            except IntegrityError:
                # The same key sent twice at once: the other request committed first.
                stored = IdempotentResponse.objects.filter(owner=owner, key=key).first()
                if stored is None:
                    raise
        if stored.fingerprint != fingerprint:
            return problem(
                422,
                "This Idempotency-Key was sent before with another request: use a new key for "
                "a new request, or send exactly the first request to get its answer again.",
            )
        return Response(stored.body, status=stored.status, headers={"Idempotent-Replayed": "true"})
