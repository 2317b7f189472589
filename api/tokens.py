"""The caller's own API tokens: list them, revoke one (a script that leaked its token can end it).

New tokens are made on the tokens page only, where staff prove their second factor.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from msp_portal.tenancy import get_visible_or_404, visible_to

from .base import CURSOR_PARAMETERS, ApiView, page_of
from .models import ApiToken
from .services import api_token_revoke


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    read_only = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class TokenList(ApiView):
    @extend_schema(
        operation_id="tokens_list",
        parameters=CURSOR_PARAMETERS,
        responses=page_of(TokenSerializer, "TokenPage"),
    )
    def get(self, request):
        """The caller's own tokens, newest first (never their secrets)."""
        return self.page(
            visible_to(request.user, ApiToken),
            ordering=("-created_at", "-id"),
            serializer=TokenSerializer,
        )


class TokenRevoke(ApiView):
    @extend_schema(operation_id="tokens_revoke", request=None, responses=TokenSerializer)
    def post(self, request, pk: int):
        """Revoke one of the caller's tokens (this one too): refused from the next call on."""
        token = get_visible_or_404(request.user, ApiToken, pk=pk)
        return Response(TokenSerializer(api_token_revoke(actor=request.user, token=token)).data)
