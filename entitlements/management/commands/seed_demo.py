"""Load the demo: ITSM data through a real sync of the shipped export, staff logins, a catalog,
and two customers with administrators, end users, marketplaces and credits. Idempotent.

It sits in the top layer because it uses every feature below it.
"""

from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.roles import CATALOG_ADMIN, SYSTEM_ADMIN
from accounts.services import user_role_grant
from catalog.models import ApprovalPolicy, Category, QuestionKind, Service, ServiceStatus
from catalog.services import (
    category_create,
    question_add,
    service_create,
    service_publish,
    service_update,
)
from credits.services import credit_grant
from customers.models import Customer
from customers.readiness import msp_readiness
from customers.services import (
    customer_add,
    customer_services_add,
    end_user_filter_save,
    msp_enable,
)
from entitlements.models import AudienceKind, Marketplace, ServiceRequest
from entitlements.services import (
    audience_rule_add,
    marketplace_create,
    marketplace_services_add,
    request_submit,
)
from itsm_sync.models import Company, Person, RecordStatus
from itsm_sync.services import sync_companies, sync_people
from itsm_sync.sources import FileSource
from msp_portal.selectors import msp_mode_enabled

DEMO_EXPORT = Path(__file__).resolve().parents[3] / "itsm_sync" / "demo" / "demo_itsm.json"
PROVIDER = "Calbro Services"

# Demo logins only: the demo runs with DEBUG on, on a local SQLite file.
STAFF = [
    ("sysadmin", "Sam", "Sysadmin", SYSTEM_ADMIN, "demo-sysadmin"),
    ("catadmin", "Cat", "Catalog", CATALOG_ADMIN, "demo-catadmin"),
]
CUSTOMER_PASSWORD = "demo-customer"

CATALOG = [
    (
        "Hardware",
        [
            ("Laptop", "A standard business laptop with docking station.", "250", 1, 3),
            ("Monitor", "A 27-inch monitor.", "80", 1, 4),
            ("Mobile phone", "A company smartphone with a data plan.", "120", 1, 1),
            (
                "Developer workstation",
                "A high-end workstation for engineering work. Your administrator approves it, "
                "then the MSP.",
                "900",
                1,
                2,
            ),
        ],
    ),
    (
        "Access",
        [
            ("VPN access", "Remote access to the company network.", "0", None, None),
            ("Shared mailbox", "A mailbox shared by a team.", "15", None, None),
        ],
    ),
    (
        "Software",
        [
            ("Office suite licence", "One seat of the office suite.", "35", 1, 10),
            ("Design software licence", "One seat of the design suite.", "60", 1, 5),
        ],
    ),
]

CUSTOMERS = [
    # company, services, filter criteria, marketplaces (name, services, audience), credits
    (
        "Pacific Capital S.A.",
        ["Laptop", "Monitor", "VPN access", "Office suite licence"],
        {},
        [
            ("Standard", ["Laptop", "Monitor", "VPN access"], {"kind": AudienceKind.EVERYONE}),
            (
                "Finance tools",
                ["Office suite licence"],
                {"kind": AudienceKind.GROUP, "organization": "Finance"},
            ),
        ],
        Decimal("2000"),
    ),
    (
        "Bright Media LLC",
        ["Laptop", "Mobile phone", "Design software licence", "Shared mailbox"],
        {"organization": ["Finance", "Information Technology"]},
        [
            ("Everyday", ["Laptop", "Shared mailbox"], {"kind": AudienceKind.EVERYONE}),
            (
                "IT specials",
                ["Mobile phone", "Design software licence"],
                {"kind": AudienceKind.GROUP, "organization": "Information Technology"},
            ),
        ],
        Decimal("600"),
    ),
]


# A service that needs approval (R3) and a request waiting for it: Pacific Capital's
# administrator decides first, then an MSP catalog administrator. (customer, service, policy,
# marketplace offering it, the request's justification)
APPROVAL_DEMO = (
    "Pacific Capital S.A.",
    "Developer workstation",
    ApprovalPolicy.CUSTOMER_ADMIN_THEN_MSP,
    "Standard",
    "New data engineer starting Monday; the standard laptop can't run the models.",
)

# The questions the Developer workstation asks (R1): (kind, label, required, choices, help) and
# the waiting request's answers, by label.
APPROVAL_DEMO_QUESTIONS = [
    (
        QuestionKind.SINGLE_CHOICE,
        "What will it be used for?",
        True,
        ["Data engineering", "Software development", "Design and video"],
        "Your administrator sees this when deciding.",
    ),
    (QuestionKind.SINGLE_CHOICE, "Operating system", True, ["Linux", "Windows"], ""),
    (QuestionKind.YES_NO, "Does it need a second monitor?", False, [], ""),
    (QuestionKind.LONG_TEXT, "Anything the service desk should know?", False, [], ""),
]
APPROVAL_DEMO_ANSWERS = {
    "What will it be used for?": "Data engineering",
    "Operating system": "Linux",
    "Does it need a second monitor?": "yes",
    "Anything the service desk should know?": "Desk 3.14, next to the window.",
}


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--without-msp",
            action="store_true",
            help="leave MSP mode off (and so create no customers), to try enabling it yourself",
        )

    def handle(self, *args, without_msp: bool, **options):
        source = FileSource(DEMO_EXPORT)
        companies = sync_companies(source=source, full=True)
        people = sync_people(source=source, full=True)
        self.stdout.write(
            f"ITSM demo export synced: companies {companies.status} (+{companies.created}), "
            f"people {people.status} (+{people.created})."
        )
        staff = self._staff()
        logins = [(role, username, password) for username, _, _, role, password in STAFF]
        waiting = None
        if not without_msp and not msp_mode_enabled() and msp_readiness().ready:
            msp_enable(actor=None, actor_label="seed_demo")
        customers_before = Customer.objects.count()
        if msp_mode_enabled():
            catalog_admin = staff["catadmin"]
            services = self._catalog(catalog_admin)
            for spec in CUSTOMERS:
                logins += self._customer(catalog_admin, services, *spec)
            waiting = self._approval_demo(catalog_admin, services)
        else:
            self.stdout.write(
                "MSP mode is off: no customers were created (sign in as sysadmin to switch it on)."
            )
        base = settings.PORTAL_BASE_URL.rstrip("/")
        self.stdout.write(self.style.SUCCESS(f"Demo logins ({base}/):"))
        for role, username, password in logins:
            self.stdout.write(f"  {role:<48} {username} / {password}")
        if msp_mode_enabled() and waiting is not None:
            admin = waiting.customer.administrators.select_related("user").first().user
            self.stdout.write(
                f"Request #{waiting.pk} ({waiting.quantity} × {waiting.service.name}, by "
                f"{waiting.requester.username}) is {waiting.get_status_display().lower()}: "
                f"{admin.username} decides it on the Approvals page, or from the e-mail "
                "written with its links, then catadmin."
            )
        if Customer.objects.exists():
            self._sso_note(base)
        file_mail = settings.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend"
        if file_mail and Customer.objects.exists():
            if Customer.objects.count() > customers_before:
                self.stdout.write(
                    f"Invitation e-mails, with links to {base}/, were written to "
                    f"{settings.EMAIL_FILE_PATH}/."
                )
            else:
                self.stdout.write(
                    f"Invitation e-mails were written to {settings.EMAIL_FILE_PATH}/ when the "
                    "customers were created (delete demo.sqlite3 to build the demo anew)."
                )

    def _sso_note(self, base: str) -> None:
        """Sign-in through a customer's own identity provider needs a provider the browser can
        reach, which the offline demo does not have: say so, and what the Sign-in card shows."""
        customer = Customer.objects.select_related("company").order_by("pk").first()
        self.stdout.write(
            "Sign-in through a customer's own identity provider (OpenID Connect or SAML 2.0) "
            "needs a provider this browser can reach; the demo configures none, so everyone "
            "signs in with the passwords above. To try it, sign in as catadmin, open Customers → "
            f"{customer} → Sign-in and enter your provider: the card then shows what its IT "
            f"enters there, the redirect URI {base}/sso/oidc/<slug>/login/callback/ (OpenID "
            f"Connect), or the ACS URL {base}/sso/saml/<slug>/acs/ and the SP metadata "
            f"{base}/sso/saml/<slug>/metadata/ (SAML), <slug> being the card's own."
        )

    def _staff(self) -> dict:
        provider = Company.objects.get(name=PROVIDER)
        User = get_user_model()
        users = {}
        with transaction.atomic():
            for username, first, last, role, password in STAFF:
                user, _ = User.objects.get_or_create(
                    username=username,
                    defaults={
                        "first_name": first,
                        "last_name": last,
                        "company": provider,
                        "email": f"{username}@calbro.example",
                    },
                )
                user.set_password(password)
                user.save()
                users[username] = user_role_grant(actor=None, user=user, role=role)
        return users

    def _catalog(self, actor) -> dict[str, Service]:
        services = {}
        for category_name, entries in CATALOG:
            category = Category.objects.filter(name=category_name).first() or category_create(
                actor=actor, name=category_name, description=f"{category_name} services."
            )
            for name, description, price, min_q, max_q in entries:
                service = Service.objects.filter(name=name).first()
                if service is None:
                    service = service_create(
                        actor=actor,
                        name=name,
                        category=category,
                        price=Decimal(price),
                        description=description,
                        min_quantity=min_q,
                        max_quantity=max_q,
                    )
                if service.status != ServiceStatus.PUBLISHED:
                    service = service_publish(actor=actor, service=service)
                services[name] = service
        return services

    def _approval_demo(self, actor, services) -> ServiceRequest | None:
        """The approval policy on its service, the service offered to Pacific Capital's people, and
        one request of theirs waiting for approval (made once; later runs find it)."""
        company_name, service_name, policy, market_name, justification = APPROVAL_DEMO
        service = services[service_name]
        if service.approval_policy != policy:
            service = service_update(
                actor=actor,
                service=service,
                name=service.name,
                category=service.category,
                price=service.price,
                description=service.description,
                min_quantity=service.min_quantity,
                max_quantity=service.max_quantity,
                approval_policy=policy,
            )
        if not service.questions.exists():
            for kind, label, required, choices, help_text in APPROVAL_DEMO_QUESTIONS:
                question_add(
                    actor=actor,
                    service=service,
                    kind=kind,
                    label=label,
                    required=required,
                    choices=choices,
                    help_text=help_text,
                )
        customer = Customer.objects.filter(company__name=company_name).first()
        if customer is None:
            return None
        customer_services_add(actor=actor, customer=customer, services=[service])
        admin = customer.administrators.select_related("user").first().user
        market = Marketplace.objects.get(customer=customer, name=market_name)
        if not market.offers.filter(assignment__service=service).exists():
            marketplace_services_add(actor=admin, marketplace=market, services=[service])
        made = ServiceRequest.objects.filter(customer=customer, service=service).first()
        if made is not None:
            return made
        end_user = (
            get_user_model()
            .objects.filter(company=customer.company, is_active=True, person__isnull=False)
            .exclude(pk=admin.pk)
            .order_by("username")
            .first()
        )
        request = request_submit(
            actor=end_user,
            service=service,
            quantity=1,
            justification=justification,
            answers={q.pk: APPROVAL_DEMO_ANSWERS[q.label] for q in service.questions.all()},
        )
        return request

    def _customer(self, actor, services, company_name, names, criteria, marketplaces, credits):
        company = Company.objects.get(name=company_name)
        enabled = Person.objects.filter(
            company=company, profile_status=RecordStatus.ENABLED, is_active=True
        )
        admin_person = enabled.exclude(remedy_login_id="").order_by("person_id").first()
        customer = Customer.objects.filter(company=company).first()
        if customer is None:
            customer = customer_add(
                actor=actor,
                company=company,
                administrators=[admin_person],
                services=[services[n] for n in names],
                credit_management=True,
                alert_threshold=credits / 4,
            )
            end_user_filter_save(
                actor=actor, customer=customer, name="Demo end users", criteria=criteria
            )
            credit_grant(
                actor=actor,
                customer=customer,
                amount=credits,
                reason="Demo opening balance",
                idempotency_key=f"demo:{company.pk}:opening",
            )
        admin = customer.administrators.select_related("user").first().user
        for mname, mservices, audience in marketplaces:
            if Marketplace.objects.filter(customer=customer, name=mname).exists():
                continue
            market = marketplace_create(actor=admin, customer=customer, name=mname)
            marketplace_services_add(
                actor=admin, marketplace=market, services=[services[n] for n in mservices]
            )
            audience_rule_add(actor=admin, marketplace=market, **audience)
        admin.set_password(CUSTOMER_PASSWORD)
        admin.save()
        end_user = (
            get_user_model()
            .objects.filter(company=company, is_active=True, person__isnull=False)
            .exclude(pk=admin.pk)
            .order_by("username")
            .first()
        )
        logins = [(f"Customer administrator, {company_name}", admin.username, CUSTOMER_PASSWORD)]
        if end_user is not None:
            end_user.set_password(CUSTOMER_PASSWORD)
            end_user.save()
            logins.append((f"End user, {company_name}", end_user.username, CUSTOMER_PASSWORD))
        return logins
