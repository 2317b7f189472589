"""Who may call the API at all: a valid token; a read-only token only reads."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
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


def require_perms(request, *perms: str, refusal: str) -> None:
    """The pages' permission_required for an API view: without the role, a 403 saying whose
    action it is (refusal), before any object is looked up (T1: 403, never a 404 hiding it)."""
    if not request.user.has_perms(perms):
        raise DjangoPermissionDenied(refusal)
