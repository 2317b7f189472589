"""`Authorization: Bearer <token>`: the token's owner is the caller, with the owner's roles."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .services import api_token_for, api_token_used

TOKENS_PAGE = "/api/tokens/"


class BearerTokenAuthentication(BaseAuthentication):
    """A personal API token (api.models.ApiToken), checked on every call: revoked, expired or
    owned by a deactivated account, it is refused at once."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the token as `Authorization: Bearer <token>`, with nothing else after it.")
            )
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            secret = ""
        token = api_token_for(secret)
        if token is None:
            raise exceptions.AuthenticationFailed(
                f"This token is not known: copy it again, or create a new one on {TOKENS_PAGE}."
            )
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"This token was revoked: create a new one on {TOKENS_PAGE}."
            )
        if not token.is_active:
            raise exceptions.AuthenticationFailed(
                f"This token has expired: create a new one on {TOKENS_PAGE}."
            )
        if not token.owner.is_active:
            raise exceptions.AuthenticationFailed(
                "The account this token belongs to is deactivated, so the token no longer works."
            )
        api_token_used(token=token)
        return token.owner, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal API token."}
