"""C4 survives one bad ITSM record: a person whose login can't be a portal username is refused
with a reason (on the customer's end-user page and the sync run's page); everyone else is
provisioned, every customer's filters still apply, and the run says so."""

from html import unescape

import pytest
from django.urls import reverse

from accounts.models import User
from customers.services import customer_add, end_user_filter_save, end_user_filters_apply
from customers.tasks import apply_user_filters
from itsm_sync.models import RejectedRecord
from tests.itsm_sync.factories import CompanyFactory, PersonFactory
from tests.itsm_sync.sync_helpers import people_sync

pytestmark = pytest.mark.django_db

BAD_LOGINS = ["John Smith", "x" * 151, "sales/emea"]


@pytest.fixture
def acme(db):
    return CompanyFactory(name="Acme Corp")


@pytest.fixture
def people(acme):
    return {
        "boss": PersonFactory(company=acme, remedy_login_id="boss"),
        "fin": PersonFactory(company=acme, remedy_login_id="fin-eu"),
        "bad": [
            PersonFactory(company=acme, remedy_login_id=login, first_name="Bad", last_name=str(i))
            for i, login in enumerate(BAD_LOGINS)
        ],
    }


@pytest.fixture
def customer(catalog_admin, acme, people, msp_enabled):
    return customer_add(actor=catalog_admin, company=acme, administrators=[people["boss"]])


def _active_logins(company) -> set[str]:
    return set(
        User.objects.filter(company=company, is_active=True).values_list("username", flat=True)
    )


def test_people_whose_login_cannot_be_a_username_are_refused_and_the_others_provisioned(
    catalog_admin, customer, people
):
    end_user_filter_save(actor=catalog_admin, customer=customer, name="All", criteria={})

    assert _active_logins(customer.company) == {"boss", "fin-eu"}
    report = end_user_filters_apply(actor=None, customer=customer)
    assert len(report.problems) == len(BAD_LOGINS)
    for person, login in zip(people["bad"], BAD_LOGINS, strict=True):
        reason = next(p for p in report.problems if person.person_id in p)
        assert f"Remedy Login ID {login!r}" in reason
        assert "Correct it in ITSM" in reason


def test_a_corrected_login_gets_its_account_and_the_refusal_goes(catalog_admin, customer, people):
    end_user_filter_save(actor=catalog_admin, customer=customer, name="All", criteria={})
    fixed = people["bad"][0]
    fixed.remedy_login_id, fixed.email = "jsmith", "jsmith@example.com"
    fixed.save()

    report = end_user_filters_apply(actor=None, customer=customer)

    assert report.created == ["jsmith"]
    assert not any(fixed.person_id in p for p in report.problems)
    assert len(report.problems) == len(BAD_LOGINS) - 1


def test_a_dry_run_foresees_the_refusal(catalog_admin, customer, people):
    end_user_filter_save(
        actor=catalog_admin, customer=customer, name="All", criteria={}, apply=False
    )
    planned = end_user_filters_apply(actor=None, customer=customer, dry_run=True)
    assert sorted(planned.created) == ["fin-eu"]
    assert len(planned.problems) == len(BAD_LOGINS)
    assert not User.objects.filter(username="fin-eu").exists()


def test_the_task_applies_every_customer_when_one_has_a_bad_record(catalog_admin, customer, people):
    end_user_filter_save(
        actor=catalog_admin, customer=customer, name="All", criteria={}, apply=False
    )
    zeta = CompanyFactory(name="Zeta Partners")  # applied after Acme
    boss = PersonFactory(company=zeta, remedy_login_id="zeta-boss")
    PersonFactory(company=zeta, remedy_login_id="zeta-eve")
    other = customer_add(actor=catalog_admin, company=zeta, administrators=[boss])
    end_user_filter_save(actor=catalog_admin, customer=other, name="All", criteria={}, apply=False)

    results = apply_user_filters()

    assert _active_logins(zeta) == {"zeta-boss", "zeta-eve"}
    assert _active_logins(customer.company) == {"boss", "fin-eu"}
    acme_result = next(r for r in results if r["customer"] == "Acme Corp")
    assert len(acme_result["problems"]) == len(BAD_LOGINS)


def test_the_end_user_page_lists_who_got_no_account_and_why(
    client, catalog_admin, customer, people
):
    end_user_filter_save(actor=catalog_admin, customer=customer, name="All", criteria={})
    client.force_login(catalog_admin)
    response = client.get(reverse("customers:end_user_list", kwargs={"pk": customer.pk}))
    assert response.status_code == 200
    content = unescape(response.content.decode())
    refused = content.split('data-testid="end-user-refusals"')[1].split("</table>")[0]
    for person, login in zip(people["bad"], BAD_LOGINS, strict=True):
        assert person.person_id in refused and f"Remedy Login ID {login!r}" in refused
    assert "fin-eu" not in refused


def test_the_end_user_page_keeps_its_query_count_with_more_refusals(
    client, catalog_admin, customer, acme, django_assert_max_num_queries
):
    end_user_filter_save(actor=catalog_admin, customer=customer, name="All", criteria={})
    client.force_login(catalog_admin)
    url = reverse("customers:end_user_list", kwargs={"pk": customer.pk})
    client.get(url)
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for i in range(30):
        PersonFactory(company=acme, remedy_login_id=f"bad login {i}")
    end_user_filters_apply(actor=None, customer=customer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        content = client.get(url).content.decode()
    assert content.count("bad login ") >= 25


# --- Through a real people sync (the simulator over HTTP; the chained task runs eagerly) -------


def test_a_people_sync_refuses_one_bad_login_provisions_the_rest_and_says_so(
    client, sim, synced_customer, catalog_admin, django_capture_on_commit_callbacks
):
    company = synced_customer.company
    bad_id = sim.create_person(
        first_name="Jane",
        last_name="Contractor",
        remedy_login_id="Jane Contractor (ext)",
        company=company.name,
        internet_e_mail="jane@example.com",
        profile_status="Enabled",
    )
    good_id = sim.create_person(
        first_name="Nora",
        last_name="Newhire",
        remedy_login_id="nnewhire",
        company=company.name,
        internet_e_mail="nora@example.com",
        profile_status="Enabled",
    )

    with django_capture_on_commit_callbacks(execute=True):
        run = people_sync(sim)

    run.refresh_from_db()
    assert User.objects.get(person__person_id=good_id).is_active
    assert not User.objects.filter(person__person_id=bad_id).exists()
    refused = RejectedRecord.objects.get(run=run, key=bad_id)
    assert "Remedy Login ID 'Jane Contractor (ext)'" in refused.reason
    assert company.name in refused.reason
    assert refused.raw["Remedy Login ID"] == "Jane Contractor (ext)"
    assert run.rejected >= 1
    assert "1 person got no portal account" in run.message

    client.force_login(catalog_admin)
    page = unescape(
        client.get(
            reverse("itsm_sync:run_detail", kwargs={"pk": run.pk}), {"tab": "rejected"}
        ).content.decode()
    )
    assert "1 person got no portal account" in page
    assert "Remedy Login ID 'Jane Contractor (ext)'" in page
    end_users = unescape(
        client.get(
            reverse("customers:end_user_list", kwargs={"pk": synced_customer.pk})
        ).content.decode()
    )
    assert "Jane Contractor" in end_users and "Remedy Login ID 'Jane Contractor (ext)'" in end_users

    # The next sync changes nothing for her: it does not report her again, the page still does.
    with django_capture_on_commit_callbacks(execute=True):
        later = people_sync(sim)
    later.refresh_from_db()
    assert not RejectedRecord.objects.filter(run=later, key=bad_id).exists()
    assert "portal account" not in later.message

    # Corrected in ITSM: the next sync gives her the account and the refusal goes.
    sim.update_person(bad_id, remedy_login_id="jcontractor")
    with django_capture_on_commit_callbacks(execute=True):
        people_sync(sim)
    assert User.objects.get(person__person_id=bad_id).username == "jcontractor"
    end_users = client.get(
        reverse("customers:end_user_list", kwargs={"pk": synced_customer.pk})
    ).content.decode()
    assert "end-user-refusals" not in end_users
