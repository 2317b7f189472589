"""Use cases of API tokens: create (shown once), revoke, and the lookup of a presented token."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.backends import permissions_array_sql, permissions_keep
from accounts.models import User
from accounts.twofactor import has_device, two_factor_verify
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed
from msp_portal.fast_sql import LoadedOnce

from .models import ApiToken

TOKEN_PREFIX = "msp_"
SHOWN_PREFIX = 12
EXPIRY_DAYS = (7, 30, 90, 365)
NAME_MAX = ApiToken._meta.get_field("name").max_length


def token_digest(secret: str) -> str:
    """The stored form of a token (see ApiToken: a fast hash fits a random secret)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def needs_second_factor(user: User) -> bool:
    """MSP staff confirm a current code from their authenticator to create a token."""
    return bool(user.is_staff or user.is_superuser)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def _state(token: ApiToken) -> dict:
    return {
        "name": token.name,
        "prefix": token.prefix,
        "read_only": token.read_only,
        "expires_at": token.expires_at.isoformat(),
    }


def api_token_create(
    *,
    request: HttpRequest,
    name: str,
    read_only: bool,
    expires_in_days: int,
    code: str = "",
) -> NewToken:
    """A personal token for the signed-in person (A1); staff prove their second factor first."""
    actor = request.user
    name = name.strip()
    if not name:
        raise DomainError("Name the token after what will use it, such as “CRM sync”.")
    if len(name) > NAME_MAX:
        raise DomainError(f"Keep the token's name to {NAME_MAX} characters.")
    if expires_in_days not in EXPIRY_DAYS:
        raise DomainError(
            "Choose an expiry of " + ", ".join(str(d) for d in EXPIRY_DAYS) + " days."
        )
    if needs_second_factor(actor):
        if not has_device(actor):
            raise NotAllowed(
                "Staff tokens need two-factor sign-in: pair an authenticator app under "
                "Two-factor sign-in first, then come back to create the token."
            )
        if not code.strip() or two_factor_verify(request=request, token=code) is None:
            raise DomainError(
                "That code was not accepted: enter the current 6-digit code from your "
                "authenticator app (or one recovery code)."
            )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            owner=actor,
            name=name,
            prefix=secret[:SHOWN_PREFIX],
            digest=token_digest(secret),
            read_only=read_only,
            expires_at=timezone.now() + timedelta(days=expires_in_days),
        )
        audit_record(actor=actor, action="api_token.create", obj=token, after=_state(token))
    return NewToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke one of the actor's own tokens; it is refused from the next call on."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.owner_id != actor.pk:
        raise NotAllowed("Only the token's owner revokes it.")
    if token.revoked_at is not None:
        raise DomainError("This token is revoked already.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="api_token.revoke", obj=token, before=_state(token))
    return token


def api_token_for(secret: str) -> ApiToken | None:
    """The token a caller presents, with its owner (and the owner's person), or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = _TOKENS.get(token_digest(secret))
    if token is not None:
        permissions_keep(token.owner, getattr(token, "owner_permissions", None))
    return token


def _tokens() -> QuerySet[ApiToken]:
    """Tokens as each call loads its own: with the owner, their person and company, and (on
    PostgreSQL) their permissions, in one query."""
    tokens = ApiToken.objects.select_related("owner__person", "owner__company")
    if connection.vendor == "postgresql":
        owner = f"{ApiToken._meta.db_table}.owner_id"
        tokens = tokens.annotate(owner_permissions=permissions_array_sql(owner))
    return tokens


# Composed once and run as a prepared statement, as the pages' user (msp_portal/fast_sql.py).
_TOKENS = LoadedOnce(_tokens, by="digest")


def api_token_used(*, token: ApiToken) -> None:
    """Record the token's last use (at most once a minute, so reads don't all write)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def api_write_record(*, token: ApiToken, method: str, path: str, status: int) -> None:
    """Token use is audited like any other write (T3): which token made which change."""
    audit_record(
        actor=token.owner,
        action="api_token.write",
        obj=token,
        message=f"{method} {path} answered {status} through {token}.",
    )
