"""Catalog use cases: the rules of categories and services, on the real database."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog import services
from catalog.models import Category, Service, ServiceStatus
from catalog.selectors import service_history, service_list, service_published_list
from msp_portal.errors import NotAllowed
from msp_portal.models import AuditEvent
from tests.catalog.factories import CategoryFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def category(db):
    return CategoryFactory(name="Workplace")


def _create(actor, category, **overrides) -> Service:
    values = {"name": "Laptop", "category": category, "price": Decimal("25.00"), **overrides}
    return services.service_create(actor=actor, **values)


def _messages(error: ValidationError, field: str) -> str:
    return " ".join(error.message_dict.get(field, []))


class TestCategory:
    def test_it_is_created_and_audited(self, catalog_admin):
        category = services.category_create(
            actor=catalog_admin, name="  Workplace ", description="Desks"
        )
        assert category.name == "Workplace"
        event = AuditEvent.objects.get(action="category.create")
        assert event.actor == catalog_admin
        assert event.after == {"name": "Workplace", "description": "Desks"}

    def test_a_duplicate_name_is_refused_whatever_the_case(self, catalog_admin, category):
        with pytest.raises(ValidationError) as error:
            services.category_create(actor=catalog_admin, name="WORKPLACE")
        assert "already exists" in _messages(error.value, "name")
        assert Category.objects.count() == 1

    def test_an_update_records_only_what_changed(self, catalog_admin, category):
        services.category_update(
            actor=catalog_admin,
            category=category,
            name="Workplace IT",
            description="Services of one kind.",
        )
        event = AuditEvent.objects.get(action="category.update")
        assert event.before == {"name": "Workplace"}
        assert event.after == {"name": "Workplace IT"}

    def test_saving_unchanged_writes_no_audit_event(self, catalog_admin, category):
        services.category_update(
            actor=catalog_admin,
            category=category,
            name=category.name,
            description=category.description,
        )
        assert not AuditEvent.objects.filter(action="category.update").exists()

    def test_renaming_onto_another_category_is_refused(self, catalog_admin, category):
        other = CategoryFactory(name="Security")
        with pytest.raises(ValidationError) as error:
            services.category_update(actor=catalog_admin, category=other, name="workplace")
        assert "already exists" in _messages(error.value, "name")

    def test_it_needs_the_catalog_administrator_role(self, system_admin, plain_user):
        for actor in (system_admin, plain_user):
            with pytest.raises(NotAllowed):
                services.category_create(actor=actor, name="Workplace")
        assert not Category.objects.exists()

    def test_a_category_with_services_cannot_be_deleted(self, category):
        ServiceFactory(category=category)
        with pytest.raises(IntegrityError):
            category.delete()


class TestServiceCreate:
    def test_a_new_service_is_a_draft_and_audited(self, catalog_admin, category):
        service = _create(catalog_admin, category, description=" A laptop. ", min_quantity=1)
        assert service.status == ServiceStatus.DRAFT
        assert service.description == "A laptop."
        event = AuditEvent.objects.get(action="service.create")
        assert event.object_id == str(service.pk)
        assert event.after["price"] == "25.00"
        assert event.after["category"] == "Workplace"

    def test_a_price_of_zero_means_free(self, catalog_admin, category):
        service = _create(catalog_admin, category, price=Decimal("0"))
        assert service.is_free

    def test_a_negative_price_is_refused_with_what_to_do(self, catalog_admin, category):
        with pytest.raises(ValidationError) as error:
            _create(catalog_admin, category, price=Decimal("-1"))
        assert _messages(error.value, "price") == (
            "Enter a price of 0 or more credits; 0 makes the service free."
        )
        assert not Service.objects.exists()

    @pytest.mark.parametrize("field", ["min_quantity", "max_quantity"])
    @pytest.mark.parametrize("value", [0, -3])
    def test_a_quantity_limit_below_one_is_refused(self, catalog_admin, category, field, value):
        with pytest.raises(ValidationError) as error:
            _create(catalog_admin, category, **{field: value})
        assert "at least 1" in _messages(error.value, field)

    def test_a_maximum_below_the_minimum_is_refused(self, catalog_admin, category):
        with pytest.raises(ValidationError) as error:
            _create(catalog_admin, category, min_quantity=5, max_quantity=2)
        assert _messages(error.value, "max_quantity") == (
            "The maximum quantity (2) is below the minimum (5). Raise the maximum or lower the "
            "minimum."
        )

    @pytest.mark.parametrize(
        ("low", "high", "label"),
        [
            (None, None, "Any"),
            (2, None, "2 or more"),
            (None, 9, "Up to 9"),
            (3, 3, "3"),
            (1, 5, "1–5"),
        ],
    )
    def test_quantity_limits_are_optional(self, catalog_admin, category, low, high, label):
        service = _create(catalog_admin, category, min_quantity=low, max_quantity=high)
        assert service.quantity_label == label

    def test_a_duplicate_name_is_refused_whatever_the_case(self, catalog_admin, category):
        _create(catalog_admin, category)
        with pytest.raises(ValidationError) as error:
            _create(catalog_admin, category, name=" laptop ")
        assert "already exists" in _messages(error.value, "name")
        assert Service.objects.count() == 1

    def test_a_twin_saved_concurrently_gets_the_same_friendly_error(
        self, catalog_admin, category, monkeypatch
    ):
        _create(catalog_admin, category)
        # As if the twin committed between this request's validation and its insert.
        monkeypatch.setattr(Service, "validate_constraints", lambda self, exclude=None: None)
        monkeypatch.setattr(Service, "clean", lambda self: None)
        with pytest.raises(ValidationError) as error:
            _create(catalog_admin, category, name="LAPTOP")
        assert "already exists" in _messages(error.value, "name")
        assert Service.objects.count() == 1

    def test_it_needs_the_catalog_administrator_role(self, system_admin, plain_user, category):
        for actor in (system_admin, plain_user):
            with pytest.raises(NotAllowed):
                _create(actor, category)
        assert not Service.objects.exists()


class TestServiceUpdate:
    def test_it_changes_the_details_and_audits_before_and_after(self, catalog_admin, category):
        service = _create(catalog_admin, category)
        other = CategoryFactory(name="Security")
        services.service_update(
            actor=catalog_admin,
            service=service,
            name="Laptop",
            category=other,
            price=Decimal("30"),
            max_quantity=3,
        )
        service.refresh_from_db()
        assert (service.category, service.price, service.max_quantity) == (other, 30, 3)
        event = AuditEvent.objects.get(action="service.update")
        assert event.before == {"category": "Workplace", "price": "25.00", "max_quantity": None}
        assert event.after == {"category": "Security", "price": "30.00", "max_quantity": 3}

    def test_it_leaves_the_status_alone(self, catalog_admin, category):
        service = ServiceFactory(category=category, status=ServiceStatus.RETIRED)
        services.service_update(
            actor=catalog_admin, service=service, name="New", category=category, price=Decimal(1)
        )
        service.refresh_from_db()
        assert service.status == ServiceStatus.RETIRED

    def test_an_invalid_change_saves_nothing(self, catalog_admin, category):
        service = _create(catalog_admin, category, min_quantity=2)
        with pytest.raises(ValidationError):
            services.service_update(
                actor=catalog_admin,
                service=service,
                name="Renamed",
                category=category,
                price=Decimal("-5"),
                min_quantity=2,
                max_quantity=1,
            )
        service.refresh_from_db()
        assert (service.name, service.price) == ("Laptop", Decimal("25.00"))
        assert not AuditEvent.objects.filter(action="service.update").exists()

    def test_a_service_keeps_its_own_name(self, catalog_admin, category):
        service = _create(catalog_admin, category)
        services.service_update(
            actor=catalog_admin, service=service, name="LAPTOP", category=category, price=Decimal(1)
        )
        service.refresh_from_db()
        assert service.name == "LAPTOP"

    def test_it_needs_the_change_permission(self, system_admin, category):
        service = ServiceFactory(category=category)
        with pytest.raises(NotAllowed):
            services.service_update(
                actor=system_admin, service=service, name="x", category=category, price=Decimal(0)
            )


class TestServiceStatus:
    def test_a_draft_is_published_then_retired_then_published_again(self, catalog_admin, category):
        service = _create(catalog_admin, category)
        service = services.service_publish(actor=catalog_admin, service=service)
        assert service.status == ServiceStatus.PUBLISHED
        service = services.service_retire(actor=catalog_admin, service=service)
        assert service.status == ServiceStatus.RETIRED
        service = services.service_publish(actor=catalog_admin, service=service)
        assert service.status == ServiceStatus.PUBLISHED
        actions = list(
            AuditEvent.objects.filter(object_id=str(service.pk))
            .order_by("id")
            .values_list("action", "before", "after")
        )
        assert actions[1:] == [
            ("service.publish", {"status": "draft"}, {"status": "published"}),
            ("service.retire", {"status": "published"}, {"status": "retired"}),
            ("service.publish", {"status": "retired"}, {"status": "published"}),
        ]

    def test_publishing_a_published_service_is_refused(self, catalog_admin):
        service = ServiceFactory(name="VPN", status=ServiceStatus.PUBLISHED)
        with pytest.raises(services.ServiceTransitionRefused, match="“VPN” is already published"):
            services.service_publish(actor=catalog_admin, service=service)

    def test_retiring_a_draft_is_refused_with_what_to_do(self, catalog_admin):
        service = ServiceFactory(name="VPN", status=ServiceStatus.DRAFT)
        with pytest.raises(services.ServiceTransitionRefused, match="publish it"):
            services.service_retire(actor=catalog_admin, service=service)
        service.refresh_from_db()
        assert service.status == ServiceStatus.DRAFT

    def test_retiring_a_retired_service_is_refused(self, catalog_admin):
        service = ServiceFactory(name="VPN", status=ServiceStatus.RETIRED)
        with pytest.raises(services.ServiceTransitionRefused, match="already retired"):
            services.service_retire(actor=catalog_admin, service=service)

    def test_the_status_read_is_the_stored_one_not_a_stale_copy(self, catalog_admin):
        service = ServiceFactory(status=ServiceStatus.DRAFT)
        stale = Service.objects.get(pk=service.pk)
        services.service_publish(actor=catalog_admin, service=service)
        with pytest.raises(services.ServiceTransitionRefused):
            services.service_publish(actor=catalog_admin, service=stale)
        assert AuditEvent.objects.filter(action="service.publish").count() == 1

    def test_it_needs_the_change_permission(self, system_admin, plain_user):
        service = ServiceFactory(status=ServiceStatus.DRAFT)
        for actor in (system_admin, plain_user):
            with pytest.raises(NotAllowed):
                services.service_publish(actor=actor, service=service)


class TestDatabaseConstraints:
    """The constraints hold even for writes that skip the services (raw SQL, bulk loads)."""

    @pytest.mark.parametrize(
        "values",
        [
            {"price": Decimal("-0.01")},
            {"min_quantity": 0},
            {"max_quantity": 0},
            {"min_quantity": 4, "max_quantity": 3},
            {"name": "DUPLICATE"},
        ],
    )
    def test_they_refuse_what_the_services_refuse(self, category, values):
        ServiceFactory(name="Duplicate", category=category)
        row = {"name": "Other", "category": category, "price": Decimal(1), **values}
        with pytest.raises(IntegrityError), transaction.atomic():
            Service.objects.bulk_create([Service(**row)])


class TestSelectors:
    def test_the_list_searches_every_word_in_name_and_description(self, catalog_admin):
        ServiceFactory(name="Laptop Pro", description="A 16-inch machine")
        ServiceFactory(name="Laptop Air", description="A light machine")
        ServiceFactory(name="VPN", description="Remote access")
        names = lambda query: [s.name for s in service_list(user=catalog_admin, query=query)]  # noqa: E731
        assert names("laptop") == ["Laptop Air", "Laptop Pro"]
        assert names("laptop 16-INCH") == ["Laptop Pro"]
        assert names("remote") == ["VPN"]
        assert names("") == ["Laptop Air", "Laptop Pro", "VPN"]

    def test_the_list_filters_by_category_and_status(self, catalog_admin, category):
        ServiceFactory(name="A", category=category, status=ServiceStatus.DRAFT)
        ServiceFactory(name="B", category=category, status=ServiceStatus.PUBLISHED)
        ServiceFactory(name="C", status=ServiceStatus.DRAFT)
        drafts = service_list(user=catalog_admin, category=category, status=ServiceStatus.DRAFT)
        assert [s.name for s in drafts] == ["A"]

    def test_people_without_the_role_see_nothing(self, system_admin, plain_user):
        ServiceFactory()
        assert not service_list(user=system_admin).exists()
        assert not service_list(user=plain_user).exists()

    def test_the_picker_offers_published_services_only(self):
        ServiceFactory(name="Backup", status=ServiceStatus.PUBLISHED)
        ServiceFactory(name="Backup draft", status=ServiceStatus.DRAFT)
        ServiceFactory(name="Backup old", status=ServiceStatus.RETIRED)
        ServiceFactory(name="VPN", status=ServiceStatus.PUBLISHED)
        assert [s.name for s in service_published_list()] == ["Backup", "VPN"]
        assert [s.name for s in service_published_list(query="back")] == ["Backup"]

    def test_the_history_shows_what_changed(self, catalog_admin, category):
        service = _create(catalog_admin, category)
        services.service_update(
            actor=catalog_admin,
            service=service,
            name="Laptop",
            category=category,
            price=Decimal("30"),
            description="New text",
        )
        services.service_publish(actor=catalog_admin, service=service)
        history = service_history(service=service)
        assert [entry.verb for entry in history] == ["Published", "Edited", "Created"]
        assert history[1].changes == [("Description", None, None), ("Price", "25.00", "30.00")]
        assert history[0].actor == "catadmin"
