"""The Django admin, audited (T3): every ModelAdmin of the project inherits AuditedModelAdmin.

An edit made in the admin is a change made through the product, so it writes an audit event
like any service: who, when, the acting-as customer (msp_portal.tenancy, set by its middleware),
what (app.model and the object), and before → after of every changed field, many-to-many
included. The event is written inside the transaction of the change: if it can't be written,
the change is not made. Saves, inline rows, deletes (one or many) and admin actions are covered.
Admins whose writes go through a service (the catalog) leave the event to that service.

Models whose rules live in a service the admin can't call, or that the product writes itself,
are shown read-only (ReadOnlyAdmin).

Why not django-pghistory (row history by database triggers)? Its triggers are PostgreSQL-only
while the zero-setup demo runs on SQLite, and it records rows, not the readable events the
audit trail shows (a people group's members are "ann, bob", not rows of a through table).
"""

import functools
from collections.abc import Sequence

from django.contrib import admin
from django.db import router, transaction
from django.db.models import Field, Model, QuerySet
from django.http import HttpRequest

from .audit import audit_record
from .models import AuditEvent, Installation, MspMode, ReleaseChange

HIDDEN = "(hidden)"


def _fields(model: type[Model], only: Sequence[str] | None) -> list[Field]:
    fields = [
        field
        for field in [*model._meta.concrete_fields, *model._meta.many_to_many]
        if not field.primary_key and not getattr(field, "auto_now", False)
    ]
    return [field for field in fields if field.name in only] if only is not None else fields


def _value(obj: Model, field: Field):
    """A field's value as a person reads it: related objects by name, lists sorted."""
    if field.many_to_many:
        return sorted(str(related) for related in getattr(obj, field.name).all())
    if field.is_relation:
        return None if getattr(obj, field.attname) is None else str(getattr(obj, field.name))
    value = field.value_from_object(obj)
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return field.value_to_string(obj)


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose every write is an audit event in the same transaction (T3)."""

    # The fields an event shows; None: every field of the model and its many-to-many.
    audit_fields: Sequence[str] | None = None
    # Fields whose values never reach the trail; a change to one shows as hidden → changed.
    audit_hidden_fields: Sequence[str] = ("password",)
    # True when save_model and every action hand the change to a service that audits it.
    writes_through_services = False

    # -- what an event holds ----------------------------------------------------------------

    def audit_state(self, obj: Model) -> dict:
        """The audited fields of obj (an inline row: all its fields), hidden ones included."""
        only = self.audit_fields if isinstance(obj, self.model) else None
        return {field.name: _value(obj, field) for field in _fields(type(obj), only)}

    def _shown(self, name: str, value):
        return (HIDDEN if value else "") if name in self.audit_hidden_fields else value

    def _filled(self, state: dict) -> dict:
        return {k: self._shown(k, v) for k, v in state.items() if v not in (None, "", [], False)}

    def _changes(self, before: dict, after: dict) -> tuple[dict, dict]:
        keys = [key for key in after if before.get(key) != after[key]]
        hidden = set(self.audit_hidden_fields)
        return (
            {key: self._shown(key, before.get(key)) for key in keys},
            {key: "(changed)" if key in hidden else after[key] for key in keys},
        )

    @staticmethod
    def _stored(obj: Model) -> Model:
        return type(obj)._base_manager.get(pk=obj.pk)

    def _record_change(self, request: HttpRequest, obj: Model, before: dict, **extra) -> None:
        old, new = self._changes(before, self.audit_state(self._stored(obj)))
        if old or new:
            audit_record(
                actor=request.user,
                action=extra.pop("action", "admin.change"),
                obj=obj,
                before=old,
                after=new,
                message=extra.pop("message", "Changed in the Django admin."),
            )

    def audit_delete(self, request: HttpRequest, obj: Model) -> None:
        """Record an object about to be deleted (called before it goes, in its transaction)."""
        audit_record(
            actor=request.user,
            action="admin.delete",
            obj=obj,
            before=self._filled(self.audit_state(obj)),
            message="Deleted in the Django admin.",
        )

    # -- saves (the change form, list_editable rows) and their inlines -----------------------

    def save_model(self, request: HttpRequest, obj: Model, form, change: bool) -> None:
        if change and not self.writes_through_services:
            # The form has already written its values into obj: read what is stored.
            form._audit_before = self.audit_state(self._stored(obj))
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if self.writes_through_services:
            return
        obj = form.instance
        if change:
            self._record_change(request, obj, form._audit_before)
        else:
            audit_record(
                actor=request.user,
                action="admin.add",
                obj=obj,
                after=self._filled(self.audit_state(self._stored(obj))),
                message="Added in the Django admin.",
            )

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if self.writes_through_services:
            return super().save_formset(request, form, formset, change)
        stored = [f.instance.pk for f in formset.initial_forms if f.instance.pk is not None]
        before = {
            pk: self.audit_state(obj)
            for pk, obj in formset.model._base_manager.in_bulk(stored).items()
        }
        for deleted in formset.deleted_forms:
            if deleted.instance.pk is not None:
                self.audit_delete(request, deleted.instance)
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            audit_record(
                actor=request.user,
                action="admin.add",
                obj=obj,
                after=self._filled(self.audit_state(obj)),
                message=f"Added with {form.instance} in the Django admin.",
            )
        for obj, _ in formset.changed_objects:
            self._record_change(request, obj, before[obj.pk])

    # -- deletes -------------------------------------------------------------------------------

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self.audit_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic(using=router.db_for_write(self.model)):
            for obj in queryset:
                self.audit_delete(request, obj)
            super().delete_queryset(request, queryset)

    # -- actions -------------------------------------------------------------------------------

    def get_action(self, action):
        found = super().get_action(action)
        if found is None or self.writes_through_services:
            return found
        func, name, description = found
        if name == "delete_selected":  # Django's own: it deletes through delete_queryset
            return found
        return self._audited_action(func, name, description), name, description

    def _audited_action(self, func, name: str, description: str):
        """The action, recording before → after of each selected object, in one transaction."""

        @functools.wraps(func)
        def action(modeladmin, request: HttpRequest, queryset: QuerySet):
            with transaction.atomic(using=router.db_for_write(self.model)):
                selected = list(queryset)
                before = {obj.pk: self.audit_state(obj) for obj in selected}
                response = func(modeladmin, request, queryset)
                remaining = self.model._base_manager.in_bulk(list(before))
                for obj in selected:
                    message = f"Admin action “{description}” ({name})."
                    if obj.pk not in remaining:
                        audit_record(
                            actor=request.user,
                            action="admin.delete",
                            obj=obj,
                            before=self._filled(before[obj.pk]),
                            message=message,
                        )
                    else:
                        self._record_change(
                            request, obj, before[obj.pk], action="admin.action", message=message
                        )
            return response

        return action


class ReadOnlyAdmin(AuditedModelAdmin):
    """Shown, never written here: records the product writes itself, or whose rules live in a
    service the admin must not go around. A subclass may allow an audited delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "acting_as_label", "action", "object_repr"]
    list_filter = ["action"]
    search_fields = ["actor_label", "object_repr", "action"]
    show_full_result_count = False


@admin.register(Installation)
class InstallationAdmin(ReadOnlyAdmin):
    list_display = ["installed_release", "current_release", "installed_at"]


@admin.register(ReleaseChange)
class ReleaseChangeAdmin(ReadOnlyAdmin):
    list_display = ["from_release", "to_release", "at"]


@admin.register(MspMode)
class MspModeAdmin(ReadOnlyAdmin):
    """Switched on and off only on the MSP mode page or with enable_msp, where M1–M3 hold."""

    list_display = ["enabled", "enabled_at", "enabled_by_label"]
