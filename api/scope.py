"""Who sees which API tokens: each person their own, nobody anyone else's (T1)."""

from django.db.models import Q

from msp_portal.tenancy import NOTHING


def own_tokens(user, action: str) -> Q:
    return Q(owner=user) if user.is_authenticated else NOTHING
