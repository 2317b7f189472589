"""`field__any=[…]`: membership in a long list of values, sent as one array parameter.

`field__in=[…]` with a thousand ids makes the ORM prepare each id and PostgreSQL parse and plan
a thousand literals; `field = ANY(%s)` with the list as one array costs neither. Elsewhere
(the SQLite demo) it is a plain IN. It is offered only on the fields a module registers it on
(any_lookup_register), next to the queries that use it.
"""

from django.db.models import Field, Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        if not isinstance(self.rhs, list | tuple | set | frozenset):
            raise TypeError(f"__any takes a list of values, not {type(self.rhs).__name__}")
        return [self.lhs.output_field.get_prep_value(value) for value in self.rhs]

    def process_rhs(self, compiler, connection):
        return "%s", [list(self.rhs)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if not self.rhs:
            return "1 = 0", []
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]
        placeholders = ", ".join(["%s"] * len(self.rhs))
        return f"{lhs} IN ({placeholders})", [*lhs_params, *self.rhs]


def any_lookup_register(*fields: Field) -> None:
    """Offer field__any on these fields (model fields, not field classes) and on no other."""
    for field in fields:
        field.register_lookup(AnyOf)
