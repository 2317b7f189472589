"""What an attribute criteria matches (C4, E1): one meaning, asked of the database or of a record.

A criteria maps a field path to the values it accepts: the values of one path OR together, the
paths AND together, and an empty criteria matches everything. End-user filters are criteria on
ITSM people (their preview and their application ask the database, `criteria_q`); marketplace
audiences are criteria on an end user's account (entitlements.access.audience_criteria), which
access resolution asks of the people already loaded, `criteria_match`, because a page needs the
rules that include one person rather than the people one rule includes. The two functions are the
same sentence in two languages; tests/entitlements/test_access_properties.py proves them equal.
"""

from collections.abc import Mapping, Sequence

from django.db.models import Q

Criteria = Mapping[str, Sequence]


def criteria_q(criteria: Criteria, path: str = "") -> Q:
    """The criteria as a condition on the model path leads to ("person__" from an account)."""
    return Q(*(Q(**{f"{path}{name}__in": list(values)}) for name, values in criteria.items()))


def criteria_any_q(criterias: Sequence[Criteria], path: str = "") -> Q:
    """Matching at least one of several criteria (an empty one matches everything, none nothing)."""
    conditions = [criteria_q(criteria, path) for criteria in criterias]
    if not conditions:
        return Q(**{f"{path}pk__in": []})
    # Django drops an empty Q from an OR, which would let a narrower criteria beside an empty one
    # narrow everyone down: an empty criteria decides alone.
    if not all(conditions):
        return Q()
    return Q(*conditions, _connector=Q.OR)


def criteria_match(criteria: Criteria, record: object) -> bool:
    """The criteria evaluated on one record in memory; "a__b" follows a relation, as in criteria_q."""
    for name, values in criteria.items():
        value = _value(record, name)
        # NULL (a missing related row) equals nothing in SQL, not even a None among the values.
        if value is None or value not in values:
            return False
    return True


def _value(record: object, path: str) -> object:
    for name in path.split("__"):
        if record is None:
            return None
        record = getattr(record, name)
    return record
