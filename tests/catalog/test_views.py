"""Catalog pages: wiring per persona, search and filters, form errors, and query counts."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Category, Service, ServiceStatus
from msp_portal.models import AuditEvent
from tests.catalog.factories import CategoryFactory, ServiceFactory

pytestmark = pytest.mark.django_db
LIST = reverse("catalog:service_list")
CREATE = reverse("catalog:service_create")
CATEGORIES = reverse("catalog:category_list")


def _edit(service: Service) -> str:
    return reverse("catalog:service_edit", kwargs={"pk": service.pk})


def _form(category: Category, **overrides) -> dict:
    return {
        "name": "Managed backup",
        "category": category.pk,
        "description": "Nightly backup of one server.",
        "price": "12.50",
        "min_quantity": "",
        "max_quantity": "",
        **overrides,
    }


@pytest.fixture
def category(db):
    return CategoryFactory(name="Infrastructure")


class TestAccess:
    @pytest.mark.parametrize("persona", ["system_admin", "plain_user"])
    def test_people_without_the_catalog_role_get_403(self, client, request, persona, category):
        service = ServiceFactory(category=category)
        client.force_login(request.getfixturevalue(persona))
        for url in (LIST, CREATE, _edit(service), CATEGORIES):
            assert client.get(url).status_code == 403
        assert client.post(CREATE, _form(category)).status_code == 403
        assert client.post(CATEGORIES, {"name": "Sneaky"}).status_code == 403
        assert not Service.objects.filter(name="Managed backup").exists()
        assert not Category.objects.filter(name="Sneaky").exists()

    def test_anonymous_visitors_are_sent_to_log_in(self, client):
        response = client.get(LIST)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_an_unknown_service_or_category_is_404(self, admin_client):
        assert (
            admin_client.get(reverse("catalog:service_edit", kwargs={"pk": 999999})).status_code
            == 404
        )
        assert (
            admin_client.get(reverse("catalog:category_edit", kwargs={"pk": 999999})).status_code
            == 404
        )

    def test_the_navigation_offers_the_catalog_to_catalog_administrators(self, admin_client):
        content = admin_client.get(reverse("home")).content.decode()
        assert f'href="{LIST}"' in content


class TestServiceList:
    def test_it_lists_services_with_price_status_and_limits(self, admin_client, category):
        ServiceFactory(name="Backup", category=category, price=Decimal("12.50"), max_quantity=5)
        ServiceFactory(name="Helpdesk", category=category, price=Decimal("0"), status="draft")
        content = admin_client.get(LIST).content.decode()
        assert "Backup" in content and "12.50" in content and "Up to 5" in content
        assert "Free" in content and "Draft" in content

    def test_it_searches_by_name_and_description(self, admin_client, category):
        ServiceFactory(name="Backup", description="Nightly copies")
        ServiceFactory(name="VPN", description="Remote access")
        rows = admin_client.get(LIST, {"query": "nightly"}).context["page"].rows
        assert [s.name for s in rows] == ["Backup"]

    def test_it_filters_by_category_and_status(self, admin_client, category):
        ServiceFactory(name="A", category=category, status=ServiceStatus.DRAFT)
        ServiceFactory(name="B", category=category, status=ServiceStatus.PUBLISHED)
        ServiceFactory(name="C", status=ServiceStatus.DRAFT)
        response = admin_client.get(LIST, {"category": category.pk, "status": "draft"})
        assert [s.name for s in response.context["page"].rows] == ["A"]

    def test_htmx_search_gets_only_the_results(self, admin_client):
        ServiceFactory(name="Backup")
        response = admin_client.get(LIST, {"query": "back"}, headers={"HX-Request": "true"})
        content = response.content.decode()
        assert 'id="results"' in content and "Backup" in content
        assert "<html" not in content and "<form" not in content
        assert "HX-Request" in response["Vary"]

    def test_an_htmx_history_restore_gets_the_whole_page(self, admin_client):
        headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
        assert "<html" in admin_client.get(LIST, headers=headers).content.decode()

    def test_no_match_says_what_to_do(self, admin_client):
        ServiceFactory(name="Backup")
        content = admin_client.get(LIST, {"query": "zebra"}).content.decode()
        assert "No services match these filters." in content
        assert "show every service" in content

    def test_an_empty_catalog_says_how_to_start(self, admin_client):
        content = admin_client.get(LIST).content.decode()
        assert "The catalog is empty." in content

    def test_a_stale_filter_is_ignored_but_the_search_kept(self, admin_client):
        ServiceFactory(name="Backup")
        ServiceFactory(name="VPN")
        response = admin_client.get(LIST, {"query": "backup", "category": "999999", "status": "x"})
        assert response.status_code == 200
        assert [s.name for s in response.context["page"].rows] == ["Backup"]

    def test_pages_follow_one_another_without_overlap(self, admin_client, category):
        Service.objects.bulk_create(
            Service(name=f"Svc {i:03}", category=category, price=1) for i in range(120)
        )
        first = admin_client.get(LIST, {"query": "svc"}).context["page"]
        second = admin_client.get(LIST, {"query": "svc", "after": first.next_cursor}).context[
            "page"
        ]
        third = admin_client.get(LIST, {"query": "svc", "after": second.next_cursor}).context[
            "page"
        ]
        names = [s.name for s in first.rows + second.rows + third.rows]
        assert names == sorted(names) and len(set(names)) == 120
        assert third.next_cursor is None

    @pytest.mark.parametrize("rows", [10, 2000])
    def test_the_query_count_does_not_grow_with_rows(
        self, admin_client, rows, django_assert_max_num_queries
    ):
        categories = [CategoryFactory(name=f"Cat {i}") for i in range(5)]
        Service.objects.bulk_create(
            Service(name=f"Service {i:05}", category=categories[i % 5], price=i % 7)
            for i in range(rows)
        )
        # Session, user, two permission reads, the company in the top bar, the unread count of the
        # bell, the categories of the filter, the page of services (with their categories), and
        # the filter's category.
        with django_assert_max_num_queries(9):
            response = admin_client.get(LIST)
        assert response.status_code == 200
        with django_assert_max_num_queries(9):
            admin_client.get(
                LIST, {"query": "service", "category": categories[0].pk, "status": "published"}
            )


class TestServiceCreate:
    def test_it_creates_a_draft_and_opens_it(self, admin_client, catalog_admin, category):
        response = admin_client.post(CREATE, _form(category), follow=True)
        service = Service.objects.get(name="Managed backup")
        assert service.status == ServiceStatus.DRAFT and service.price == Decimal("12.50")
        assert response.redirect_chain[-1][0] == _edit(service)
        assert "“Managed backup” created as a draft" in response.content.decode()
        assert AuditEvent.objects.filter(action="service.create", actor=catalog_admin).exists()

    def test_a_free_service_with_limits(self, admin_client, category):
        admin_client.post(CREATE, _form(category, price="0", min_quantity="1", max_quantity="10"))
        service = Service.objects.get(name="Managed backup")
        assert service.is_free and (service.min_quantity, service.max_quantity) == (1, 10)

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"price": "-1"}, "Enter a price of 0 or more credits; 0 makes the service free."),
            ({"price": ""}, "Enter a price in credits; enter 0 for a free service."),
            ({"price": "ten"}, "Enter the price as a number of credits, such as 12.50."),
            ({"price": "1.234"}, "Enter the price with at most 2 decimal places"),
            (
                {"min_quantity": "5", "max_quantity": "2"},
                "The maximum quantity (2) is below the minimum (5). Raise the maximum or lower "
                "the minimum.",
            ),
            ({"min_quantity": "0"}, "The minimum quantity must be at least 1"),
            ({"name": ""}, "Give the service a name customers will recognise."),
            ({"category": ""}, "Choose the category this service is listed under."),
            ({"category": "999999"}, "That category no longer exists"),
        ],
    )
    def test_bad_input_gets_a_clear_form_error(self, admin_client, category, overrides, message):
        response = admin_client.post(CREATE, {**_form(category), **overrides})
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not Service.objects.exists()

    def test_a_duplicate_name_is_a_form_error(self, admin_client, category):
        ServiceFactory(name="Managed Backup")
        response = admin_client.post(CREATE, _form(category, name="managed backup"))
        assert response.status_code == 200
        assert "A service named “managed backup” already exists." in response.content.decode()
        assert Service.objects.count() == 1

    def test_without_categories_it_says_to_create_one_first(self, admin_client):
        content = admin_client.get(CREATE).content.decode()
        assert "Create a category" in content and 'data-testid="no-categories"' in content


class TestServiceEdit:
    def test_it_shows_the_current_values(self, admin_client, category):
        service = ServiceFactory(name="Backup", category=category, price=Decimal("7.25"))
        form = admin_client.get(_edit(service)).context["form"]
        assert form["name"].value() == "Backup" and form["price"].value() == Decimal("7.25")

    def test_it_saves_changes_and_audits_them(self, admin_client, catalog_admin, category):
        service = ServiceFactory(name="Backup", category=category, price=Decimal("7.25"))
        response = admin_client.post(_edit(service), _form(category, name="Backup", price="9"))
        assert response.status_code == 302 and response.url == LIST
        service.refresh_from_db()
        assert service.price == Decimal("9")
        event = AuditEvent.objects.get(action="service.update")
        assert event.actor == catalog_admin
        assert event.before["price"] == "7.25" and event.after["price"] == "9.00"

    def test_bad_input_keeps_the_old_values(self, admin_client, category):
        service = ServiceFactory(name="Backup", category=category, price=Decimal("7.25"))
        response = admin_client.post(_edit(service), _form(category, price="-3"))
        assert "Enter a price of 0 or more credits" in response.content.decode()
        service.refresh_from_db()
        assert service.price == Decimal("7.25") and service.name == "Backup"

    def test_renaming_onto_another_service_is_a_form_error(self, admin_client, category):
        ServiceFactory(name="VPN")
        service = ServiceFactory(name="Backup", category=category)
        response = admin_client.post(_edit(service), _form(category, name="vpn"))
        assert "A service named “vpn” already exists." in response.content.decode()

    def test_it_publishes_retires_and_publishes_again(self, admin_client, category):
        service = ServiceFactory(category=category, status=ServiceStatus.DRAFT)
        for transition, status, text in [
            ("publish", ServiceStatus.PUBLISHED, "is published"),
            ("retire", ServiceStatus.RETIRED, "is retired"),
            ("publish", ServiceStatus.PUBLISHED, "is published"),
        ]:
            response = admin_client.post(_edit(service), {"transition": transition}, follow=True)
            service.refresh_from_db()
            assert service.status == status
            assert text in response.content.decode()

    def test_a_refused_transition_is_explained(self, admin_client, category):
        service = ServiceFactory(name="VPN", category=category, status=ServiceStatus.DRAFT)
        response = admin_client.post(_edit(service), {"transition": "retire"}, follow=True)
        assert "“VPN” is a draft and was never offered" in response.content.decode()
        service.refresh_from_db()
        assert service.status == ServiceStatus.DRAFT

    def test_an_unknown_transition_is_a_bad_request(self, admin_client, category):
        service = ServiceFactory(category=category)
        assert admin_client.post(_edit(service), {"transition": "delete"}).status_code == 400
        assert Service.objects.filter(pk=service.pk).exists()

    def test_it_shows_the_recent_changes(self, admin_client, category):
        admin_client.post(CREATE, _form(category))
        service = Service.objects.get()
        admin_client.post(_edit(service), _form(category, price="15"))
        content = admin_client.get(_edit(service)).content.decode()
        assert "Edited" in content and "12.50" in content and "15.00" in content


class TestCategories:
    def test_it_creates_a_category(self, admin_client, catalog_admin):
        response = admin_client.post(CATEGORIES, {"name": "Security"}, follow=True)
        assert "Category “Security” created." in response.content.decode()
        assert AuditEvent.objects.filter(action="category.create", actor=catalog_admin).exists()

    def test_a_duplicate_name_is_a_form_error(self, admin_client, category):
        response = admin_client.post(CATEGORIES, {"name": "INFRASTRUCTURE"})
        assert response.status_code == 200
        assert "A category named “INFRASTRUCTURE” already exists." in response.content.decode()
        assert Category.objects.count() == 1

    def test_it_lists_categories_with_their_service_counts(self, admin_client, category):
        ServiceFactory.create_batch(3, category=category)
        rows = admin_client.get(CATEGORIES).context["page"].rows
        assert [(c.name, c.service_count) for c in rows] == [("Infrastructure", 3)]

    def test_it_edits_a_category(self, admin_client, category):
        url = reverse("catalog:category_edit", kwargs={"pk": category.pk})
        response = admin_client.post(url, {"name": "Infra", "description": "Servers"})
        assert response.status_code == 302
        category.refresh_from_db()
        assert (category.name, category.description) == ("Infra", "Servers")

    def test_an_empty_name_is_a_form_error(self, admin_client, category):
        url = reverse("catalog:category_edit", kwargs={"pk": category.pk})
        response = admin_client.post(url, {"name": ""})
        assert "Give the category a name." in response.content.decode()

    @pytest.mark.parametrize("rows", [10, 2000])
    def test_the_query_count_does_not_grow_with_rows(
        self, admin_client, rows, django_assert_max_num_queries
    ):
        Category.objects.bulk_create(Category(name=f"Category {i:05}") for i in range(rows))
        with django_assert_max_num_queries(7):
            assert admin_client.get(CATEGORIES).status_code == 200


class TestDjangoAdmin:
    @pytest.fixture
    def admin_client(self, client, catalog_admin):
        client.force_login(catalog_admin)
        return client

    def test_a_catalog_administrator_adds_a_service_there_and_it_is_audited(
        self, admin_client, category
    ):
        response = admin_client.post(
            reverse("admin:catalog_service_add"),
            {"name": "Backup", "category": category.pk, "price": "3", "description": ""},
        )
        assert response.status_code == 302
        service = Service.objects.get(name="Backup")
        assert service.status == ServiceStatus.DRAFT
        assert AuditEvent.objects.filter(
            action="service.create", object_id=str(service.pk)
        ).exists()

    def test_it_refuses_a_negative_price(self, admin_client, category):
        response = admin_client.post(
            reverse("admin:catalog_service_add"),
            {"name": "Backup", "category": category.pk, "price": "-3"},
        )
        assert response.status_code == 200
        assert "Enter a price of 0 or more credits" in response.content.decode()
        assert not Service.objects.exists()

    def test_it_changes_a_service_through_the_service(self, admin_client, category):
        service = ServiceFactory(name="Backup", category=category, price=1)
        response = admin_client.post(
            reverse("admin:catalog_service_change", args=[service.pk]),
            {"name": "Backup", "category": category.pk, "price": "2", "max_quantity": "4"},
        )
        assert response.status_code == 302
        service.refresh_from_db()
        assert service.price == 2 and service.max_quantity == 4
        assert AuditEvent.objects.filter(action="service.update").exists()

    def test_its_actions_publish_and_retire(self, admin_client, category):
        draft = ServiceFactory(category=category, status=ServiceStatus.DRAFT)
        published = ServiceFactory(category=category, status=ServiceStatus.PUBLISHED)
        url = reverse("admin:catalog_service_changelist")
        admin_client.post(url, {"action": "publish", "_selected_action": [draft.pk]})
        admin_client.post(url, {"action": "retire", "_selected_action": [published.pk]})
        draft.refresh_from_db()
        published.refresh_from_db()
        assert draft.status == ServiceStatus.PUBLISHED
        assert published.status == ServiceStatus.RETIRED

    def test_it_adds_a_category_through_the_service(self, admin_client):
        response = admin_client.post(reverse("admin:catalog_category_add"), {"name": "Security"})
        assert response.status_code == 302
        assert AuditEvent.objects.filter(action="category.create").exists()

    def test_it_offers_no_delete(self, admin_client, category):
        service = ServiceFactory(category=category)
        url = reverse("admin:catalog_service_delete", args=[service.pk])
        assert admin_client.get(url).status_code == 403
