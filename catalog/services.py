"""Catalog use cases: categories and services, every change audited.

A service's life: it is created as a draft, published when customers may be offered it, and
retired when it is withdrawn. A retired service may be published again (a withdrawn offer comes
back with the same name, price and history); nothing returns to draft, because a service that
has been offered can't be un-offered, only retired.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed

from .models import Category, Service, ServiceStatus


class ServiceTransitionRefused(DomainError):
    """The service is not in a status from which this change of status is allowed."""


def _require(actor: User, perm: str) -> None:
    if not actor.has_perm(perm):
        raise NotAllowed(
            "You do not have the role this action needs: ask a system "
            "administrator for the Catalog administrator role."
        )


def _save(obj: Category | Service, duplicate_message: str) -> None:
    """Validate and save; a twin saved concurrently surfaces as the same friendly name error."""
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as error:
        if "name_ci_unique" in str(error):
            raise ValidationError({"name": duplicate_message}) from error
        raise


def _category_state(category: Category) -> dict:
    return {"name": category.name, "description": category.description}


def _service_state(service: Service) -> dict:
    return {
        "name": service.name,
        "description": service.description,
        "category": service.category.name,
        "status": service.status,
        "price": f"{service.price:.2f}",
        "min_quantity": service.min_quantity,
        "max_quantity": service.max_quantity,
    }


def _changed(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


@transaction.atomic
def category_create(*, actor: User, name: str, description: str = "") -> Category:
    """Create a category; its name must be unique whatever the letter case."""
    _require(actor, "catalog.add_category")
    category = Category(name=name.strip(), description=description.strip())
    _save(category, f"A category named “{category.name}” already exists. Choose another name.")
    audit_record(
        actor=actor, action="category.create", obj=category, after=_category_state(category)
    )
    return category


@transaction.atomic
def category_update(
    *, actor: User, category: Category, name: str, description: str = ""
) -> Category:
    """Rename or describe a category; the new name must still be unique."""
    _require(actor, "catalog.change_category")
    category = Category.objects.select_for_update().get(pk=category.pk)
    before = _category_state(category)
    category.name, category.description = name.strip(), description.strip()
    _save(category, f"A category named “{category.name}” already exists. Choose another name.")
    before, after = _changed(before, _category_state(category))
    if after:
        audit_record(
            actor=actor, action="category.update", obj=category, before=before, after=after
        )
    return category


@transaction.atomic
def service_create(
    *,
    actor: User,
    name: str,
    category: Category,
    price: Decimal,
    description: str = "",
    min_quantity: int | None = None,
    max_quantity: int | None = None,
) -> Service:
    """Create a service as a draft: nobody can be offered it until it is published."""
    _require(actor, "catalog.add_service")
    service = Service(
        name=name.strip(),
        description=description.strip(),
        category=category,
        status=ServiceStatus.DRAFT,
        price=price,
        min_quantity=min_quantity,
        max_quantity=max_quantity,
    )
    _save(service, f"A service named “{service.name}” already exists. Choose another name.")
    audit_record(actor=actor, action="service.create", obj=service, after=_service_state(service))
    return service


@transaction.atomic
def service_update(
    *,
    actor: User,
    service: Service,
    name: str,
    category: Category,
    price: Decimal,
    description: str = "",
    min_quantity: int | None = None,
    max_quantity: int | None = None,
) -> Service:
    """Change a service's details (not its status: publish or retire it for that)."""
    _require(actor, "catalog.change_service")
    service = Service.objects.select_for_update().select_related("category").get(pk=service.pk)
    before = _service_state(service)
    service.name, service.description = name.strip(), description.strip()
    service.category, service.price = category, price
    service.min_quantity, service.max_quantity = min_quantity, max_quantity
    _save(service, f"A service named “{service.name}” already exists. Choose another name.")
    before, after = _changed(before, _service_state(service))
    if after:
        audit_record(actor=actor, action="service.update", obj=service, before=before, after=after)
    return service


def _transition(*, actor: User, service: Service, to: str, refusals: dict[str, str]) -> Service:
    _require(actor, "catalog.change_service")
    service = Service.objects.select_for_update().get(pk=service.pk)
    if service.status in refusals:
        raise ServiceTransitionRefused(refusals[service.status].format(name=service.name))
    before = service.status
    service.status = to
    service.full_clean()
    service.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action=f"service.{'publish' if to == ServiceStatus.PUBLISHED else 'retire'}",
        obj=service,
        before={"status": before},
        after={"status": to},
    )
    return service


@transaction.atomic
def service_publish(*, actor: User, service: Service) -> Service:
    """Publish a draft or retired service, so that it can be assigned to customers."""
    return _transition(
        actor=actor,
        service=service,
        to=ServiceStatus.PUBLISHED,
        refusals={ServiceStatus.PUBLISHED: "“{name}” is already published."},
    )


@transaction.atomic
def service_retire(*, actor: User, service: Service) -> Service:
    """Retire a published service: it is no longer offered, and can be published again later."""
    return _transition(
        actor=actor,
        service=service,
        to=ServiceStatus.RETIRED,
        refusals={
            ServiceStatus.RETIRED: "“{name}” is already retired.",
            ServiceStatus.DRAFT: "“{name}” is a draft and was never offered, so there is "
            "nothing to retire. Leave it as a draft until it is ready, then publish it.",
        },
    )
