"""Reads of accounts, for system administrators."""

from django.db.models import QuerySet

from .models import PeopleGroup, User


def external_user_list() -> QuerySet[User]:
    """Every external user, newest first."""
    return (
        User.objects.filter(is_external=True)
        .select_related("company")
        .order_by("-date_joined", "-id")
    )


def people_group_list() -> QuerySet[PeopleGroup]:
    """Every people group by name."""
    return PeopleGroup.objects.order_by("name", "id")
