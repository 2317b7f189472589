"""Rule C4: end users brought in, and let go, by ITSM attribute filters; one company at a time."""

import pytest
from django.core.management import call_command

from accounts.models import User
from customers.models import CustomerAdministrator
from customers.services import (
    customer_add,
    end_user_filter_delete,
    end_user_filter_save,
    end_user_filters_apply,
)
from itsm_sync.models import RecordStatus
from itsm_sync.signals import person_company_changed
from msp_portal.errors import DomainError
from msp_portal.models import AuditEvent
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db):
    return CompanyFactory(name="Acme Corp")


@pytest.fixture
def people(acme):
    def person(login, org, dept, region="Europe", **kw):
        return PersonFactory(
            company=acme,
            remedy_login_id=login,
            organization=org,
            department=dept,
            region=region,
            **kw,
        )

    return {
        "admin": person("boss", "Management", "Board"),
        "fin_eu": person("fin-eu", "Finance", "Payroll"),
        "fin_us": person("fin-us", "Finance", "Payroll", region="Americas"),
        "it_eu": person("it-eu", "IT", "Desk"),
        "hr_eu": person("hr-eu", "HR", "Hiring"),
        "fin_off": person("fin-off", "Finance", "Payroll", profile_status=RecordStatus.OFFLINE),
        "no_login": person("", "Finance", "Audit", email="nologin@acme.example"),
    }


@pytest.fixture
def customer(catalog_admin, acme, people, msp_enabled):
    return customer_add(actor=catalog_admin, company=acme, administrators=[people["admin"]])


def _active_logins() -> set[str]:
    return set(
        User.objects.filter(is_active=True, is_staff=False).values_list("username", flat=True)
    )


def test_values_of_one_attribute_or_and_attributes_and(catalog_admin, customer):
    end_user_filter_save(
        actor=catalog_admin,
        customer=customer,
        name="Finance and IT in Europe",
        criteria={"organization": ["Finance", "IT"], "region": ["Europe"]},
    )
    assert _active_logins() == {"boss", "fin-eu", "it-eu", "nologin@acme.example"}


def test_people_not_enabled_get_no_account(catalog_admin, customer):
    end_user_filter_save(
        actor=catalog_admin,
        customer=customer,
        name="Finance",
        criteria={"organization": ["Finance"]},
    )
    assert not User.objects.filter(username="fin-off").exists()


def test_the_login_is_the_email_when_there_is_no_remedy_login(catalog_admin, customer, people):
    end_user_filter_save(actor=catalog_admin, customer=customer, name="All", criteria={})
    user = User.objects.get(person=people["no_login"])
    assert user.username == "nologin@acme.example" and not user.has_usable_password()


def test_filters_of_one_customer_or_together(catalog_admin, customer):
    end_user_filter_save(
        actor=catalog_admin, customer=customer, name="HR", criteria={"organization": ["HR"]}
    )
    end_user_filter_save(
        actor=catalog_admin, customer=customer, name="IT", criteria={"organization": ["IT"]}
    )
    assert _active_logins() == {"boss", "hr-eu", "it-eu"}


def test_a_filter_for_everyone_keeps_everyone_beside_a_narrower_one(catalog_admin, customer):
    end_user_filter_save(actor=catalog_admin, customer=customer, name="Everyone", criteria={})
    end_user_filter_save(
        actor=catalog_admin, customer=customer, name="IT", criteria={"organization": ["IT"]}
    )
    assert _active_logins() == {
        "boss",
        "fin-eu",
        "fin-us",
        "it-eu",
        "hr-eu",
        "nologin@acme.example",
    }


def test_people_who_stop_matching_are_deactivated_never_deleted(catalog_admin, customer):
    user_filter = end_user_filter_save(
        actor=catalog_admin,
        customer=customer,
        name="Finance",
        criteria={"organization": ["Finance"]},
    )
    count = User.objects.count()
    end_user_filter_save(
        actor=catalog_admin,
        customer=customer,
        name="Finance",
        criteria={"organization": ["IT"]},
        user_filter=user_filter,
    )
    assert User.objects.count() == count + 1
    assert not User.objects.get(username="fin-eu").is_active
    assert _active_logins() == {"boss", "it-eu"}
    assert AuditEvent.objects.filter(action="account.deactivate").count() == 3


def test_a_person_disabled_in_itsm_loses_access_on_the_next_apply(catalog_admin, customer, people):
    end_user_filter_save(actor=catalog_admin, customer=customer, name="All", criteria={})
    people["it_eu"].profile_status = RecordStatus.OBSOLETE
    people["it_eu"].save()
    report = end_user_filters_apply(actor=None, customer=customer)
    assert report.deactivated == ["it-eu"]


def test_matching_again_reactivates_the_same_account(catalog_admin, customer):
    f = end_user_filter_save(
        actor=catalog_admin, customer=customer, name="F", criteria={"organization": ["HR"]}
    )
    hr_pk = User.objects.get(username="hr-eu").pk
    end_user_filter_delete(actor=catalog_admin, customer=customer, user_filter=f)
    assert not User.objects.get(pk=hr_pk).is_active
    end_user_filter_save(
        actor=catalog_admin, customer=customer, name="F", criteria={"organization": ["HR"]}
    )
    assert User.objects.get(pk=hr_pk).is_active


def test_administrators_keep_their_account_without_a_matching_filter(catalog_admin, customer):
    end_user_filter_save(
        actor=catalog_admin, customer=customer, name="IT", criteria={"organization": ["IT"]}
    )
    assert User.objects.get(username="boss").is_active


def test_a_dry_run_reports_the_same_and_changes_nothing(catalog_admin, customer):
    end_user_filter_save(
        actor=catalog_admin,
        customer=customer,
        name="HR",
        criteria={"organization": ["HR"]},
        apply=False,
    )
    before = set(User.objects.values_list("username", "is_active"))
    planned = end_user_filters_apply(actor=None, customer=customer, dry_run=True)
    assert set(User.objects.values_list("username", "is_active")) == before
    real = end_user_filters_apply(actor=None, customer=customer)
    assert planned.created == real.created == ["hr-eu"]


def test_applying_twice_changes_nothing_the_second_time(catalog_admin, customer):
    end_user_filter_save(actor=catalog_admin, customer=customer, name="All", criteria={})
    report = end_user_filters_apply(actor=None, customer=customer)
    assert (report.created, report.reactivated, report.deactivated) == ([], [], [])


def test_an_unknown_attribute_is_refused(catalog_admin, customer):
    with pytest.raises(DomainError, match="Unknown attribute: salary"):
        end_user_filter_save(
            actor=catalog_admin, customer=customer, name="X", criteria={"salary": ["high"]}
        )


def test_the_command_applies_filters_and_has_a_dry_run(catalog_admin, customer, capsys):
    end_user_filter_save(
        actor=catalog_admin,
        customer=customer,
        name="HR",
        criteria={"organization": ["HR"]},
        apply=False,
    )
    call_command("apply_user_filters", "--dry-run")
    assert "would created 1" in capsys.readouterr().out.replace("  ", " ")
    assert not User.objects.filter(username="hr-eu").exists()
    call_command("apply_user_filters", "--customer", str(customer.pk))
    assert User.objects.get(username="hr-eu").is_active


class TestPersonMovedByItsm:
    def _move(self, person, company):
        old = person.company_id
        person.company = company
        person.save()
        person_company_changed.send(
            sender=type(person), person_id=person.pk, old_company_id=old, new_company_id=company.pk
        )

    def test_the_account_follows_the_person(self, catalog_admin, customer, people):
        end_user_filter_save(actor=catalog_admin, customer=customer, name="All", criteria={})
        other = CompanyFactory(name="Other Inc")
        self._move(people["hr_eu"], other)
        assert User.objects.get(username="hr-eu").company == other

    def test_the_last_administrator_moving_away_flags_the_customer(self, customer, people):
        self._move(people["admin"], CompanyFactory(name="Other Inc"))
        customer.refresh_from_db()
        assert customer.needs_administrator
        assert not CustomerAdministrator.objects.filter(customer=customer).exists()
        assert AuditEvent.objects.filter(action="customer.needs_administrator").exists()

    def test_the_moved_person_leaves_the_old_customers_end_users(
        self, catalog_admin, customer, people
    ):
        end_user_filter_save(actor=catalog_admin, customer=customer, name="All", criteria={})
        self._move(people["hr_eu"], CompanyFactory(name="Other Inc"))
        end_user_filters_apply(actor=None, customer=customer)
        assert "hr-eu" not in set(
            User.objects.filter(company=customer.company, is_active=True).values_list(
                "username", flat=True
            )
        )
