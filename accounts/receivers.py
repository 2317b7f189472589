"""Receivers of ITSM mirror signals; each calls one service."""

from .services import account_follow_person_move


def person_moved(sender, *, person_id: int, **kwargs) -> None:
    account_follow_person_move(person_id=person_id)
