"""Who may call the API at all: a valid token; a read-only token only reads."""

from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import ApiToken


class TokenPermission(BasePermission):
    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise NotAuthenticated(
                "Send a personal API token as `Authorization: Bearer <token>`; create one on "
                "your API tokens page (/api/tokens/)."
            )
        token = request.auth
        if request.method not in SAFE_METHODS and isinstance(token, ApiToken) and token.read_only:
            raise PermissionDenied(
                "This token is read-only: create a read-write token on your API tokens page to "
                "make changes."
            )
        return True
