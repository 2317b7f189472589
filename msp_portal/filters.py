"""List filters as django-filter FilterSets, with the query-string rules of msp_portal.params.

Every list page with filters (requests, the ledger, the ITSM directories, the audit trail,
notifications) declares a FilterSet built on `PortalFilterSet`:

- its queryset is always the selector's, already scoped to the user (msp_portal.tenancy), so a
  filter can only narrow what the user may see;
- choice fields list only what the user may see: a FilterSet receives those querysets or
  choices from the view, never `Model.objects.all()`;
- its form is a `DateRangeForm`: days go through `DayField` (1900-01-01 … 2999-12-31) and a
  filter with an error filters nothing, says why beside itself, and the other filters still
  apply (pages and CSV exports alike);
- search text reads as `search_param` reads it: control characters read as spaces, trimmed,
  capped, never refused for its length; a NUL byte, which no one types, is refused with a
  message beside the filter;
- ids are ASCII digits within a bigint (`parse_id`; `int('٧')` is 7); an id of a choice is then
  looked up in the user's own choices: anyone else's is refused beside the filter and filters
  nothing.

Pages keep keyset pagination (`msp_portal.pagination.keyset_page` over `filterset.qs`), so a
FilterSet adds no query of its own but the one that draws a model choice's options (and the
one that checks a chosen id).
"""

from datetime import date

import django_filters
from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import QuerySet

from .params import MAX_ID, SEARCH_MAX, DateRangeForm, DayField, clean_text, on_days, parse_id


class SearchField(forms.CharField):
    """Text to search by, as search_param reads it (a NUL byte is refused with a message).

    Text past max_length is cut, never refused: it is a search, not something saved.
    """

    def __init__(self, *, max_length: int = SEARCH_MAX, **kwargs):
        self.search_max = max_length
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> str:
        text = super().to_python(value)
        if "\x00" in text:
            validator = ProhibitNullCharactersValidator()
            raise forms.ValidationError(validator.message, code=validator.code)
        return clean_text(text, max_length=self.search_max)


class SearchFilter(django_filters.CharFilter):
    """A search box; without a method it matches field_name by lookup_expr (icontains)."""

    field_class = SearchField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("lookup_expr", "icontains")
        super().__init__(*args, **kwargs)


class DayFilter(django_filters.Filter):
    """One end of a day range on a datetime field (both days included), through msp_portal.params.

    bound "from" keeps rows on or after the day, "to" rows on or before it, each a half-open
    range on the field itself (on_days), so its index serves them.
    """

    field_class = DayField

    def __init__(self, field_name: str, *, bound: str, **kwargs):
        if bound not in ("from", "to"):
            raise ValueError('bound is "from" or "to".')
        self.bound = bound
        super().__init__(field_name, **kwargs)

    def filter(self, qs: QuerySet, value: date | None) -> QuerySet:
        if not value:
            return qs
        if self.bound == "from":
            return qs.filter(on_days(self.field_name, date_from=value))
        return qs.filter(on_days(self.field_name, date_to=value))


class IdField(forms.IntegerField):
    """A number typed to match an id exactly: ASCII digits within a bigint (parse_id), from 1."""

    default_error_messages = {"invalid": "Enter a number, such as 42, or clear it."}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def to_python(self, value) -> int | None:
        if value in self.empty_values:
            return None
        number = parse_id(str(value).strip())
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class IdFilter(django_filters.Filter):
    """An exact id typed into a box (a request's number)."""

    field_class = IdField


class IdChoiceField(django_filters.fields.ModelChoiceField):
    """A model choice whose value must be an id (ASCII digits, within a bigint) among its queryset."""

    # Says nothing of whether the id exists elsewhere (T1).
    default_error_messages = {"invalid_choice": "Pick one from the list, or clear it."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if parse_id(value) is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


class IdChoiceFilter(django_filters.ModelChoiceFilter):
    """A choice among rows the user may see: the view hands their queryset to the FilterSet."""

    field_class = IdChoiceField


class PortalFilterSet(django_filters.FilterSet):
    """Filters of a list page over its selector's scoped queryset.

    Its form is a DateRangeForm (subclasses set Meta.form to a subclass of it when they need
    more), so a date_from/date_to pair of DayFilters is checked as one range.
    """

    class Meta:
        form = DateRangeForm

    def __init__(self, data=None, queryset: QuerySet | None = None, **kwargs):
        if queryset is None:
            # A FilterSet only narrows a scoped queryset: there is no default of every row.
            raise TypeError(f"{type(self).__name__} needs the selector's scoped queryset.")
        super().__init__(data, queryset, **kwargs)

    def get_form_class(self) -> type[forms.Form]:
        form = super().get_form_class()
        # The form base's own day fields exist only where the FilterSet filters by days.
        for name in [n for n in form.base_fields if n not in self.filters]:
            del form.base_fields[name]
        return form

    def choices_set(self, name: str, queryset: QuerySet | None = None, **extra) -> None:
        """Narrow a choice filter before its form is built: its queryset (model choices) or any
        field argument (choices, empty_label, widget)."""
        if hasattr(self, "_form"):
            raise RuntimeError("Set a filter's choices before its form is drawn.")
        flt = self.filters[name]
        if queryset is not None:
            flt.queryset = queryset
        flt.extra.update(extra)

    @property
    def applied(self) -> dict:
        """The valid, non-empty filters (what narrowed qs); a refused one is left out."""
        if not self.is_bound:
            return {}
        return self.form.filters()


# ---------------------------------------------------------------------------------------------
# The audit trail's filters (the lowest layer's own list).
# ---------------------------------------------------------------------------------------------


def _text_input(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "form-control", **attrs})


class AuditEventFilterSet(PortalFilterSet):
    """Audit events by actor, action (its start), object and days, over the scoped trail."""

    actor = SearchFilter(
        field_name="actor_label", label="Actor", max_length=150, widget=_text_input()
    )
    action = SearchFilter(
        field_name="action",
        lookup_expr="istartswith",
        label="Action",
        max_length=64,
        widget=_text_input(placeholder="e.g. msp_mode"),
    )
    object_query = SearchFilter(
        field_name="object_repr", label="Object", max_length=200, widget=_text_input()
    )
    date_from = DayFilter("at", bound="from", label="From")
    date_to = DayFilter("at", bound="to", label="To")
