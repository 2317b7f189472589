"""Form definitions, AR date handling and the deterministic demo dataset of the AR simulator."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from ..sources import (
    CLIENT_TYPES,
    COMPANY_FIELDS,
    COMPANY_FORM,
    LAST_MODIFIED,
    PEOPLE_FIELDS,
    PEOPLE_FORM,
    format_ar_datetime,
    parse_ar_datetime,
)

# The built-in global company, as a real ITSM ships it.
GLOBAL_COMPANY = "- Global -"
PROVIDER_COMPANY = "Calbro Services"
DEFAULT_USER = "Demo"
DEFAULT_PASSWORD = "Demo"

# Generated Last Modified Dates fall in the year before this instant, so the dataset is a pure
# function of (companies, people, seed); writes made later are stamped with the real clock.
DEFAULT_ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)

COMPANY_TYPES = (
    "Customer",
    "Operating Company",
    "Service Provider",
    "Vendor",
    "Supplier",
    "Generic Contact",
    "Manufacturer",
)
STATUSES = ("Proposed", "Enabled", "Offline", "Obsolete", "Archive", "Delete")
YES_NO = ("Yes", "No")


@dataclass(frozen=True)
class FormSpec:
    """The fields of one AR form and which of them is the entry id."""

    name: str
    id_field: str
    id_prefix: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    choices: dict[str, tuple[str, ...]]
    date_fields: frozenset[str] = frozenset({LAST_MODIFIED})


COMPANY_SPEC = FormSpec(
    name=COMPANY_FORM,
    id_field="Company Entry ID",
    id_prefix="CPY",
    fields=COMPANY_FIELDS,
    required=("Company", "Company Type"),
    choices={"Company Type": COMPANY_TYPES, "Status": STATUSES},
)

PEOPLE_SPEC = FormSpec(
    name=PEOPLE_FORM,
    id_field="Person ID",
    id_prefix="PPL",
    fields=PEOPLE_FIELDS,
    required=("First Name", "Last Name", "Company"),
    choices={
        "Profile Status": STATUSES,
        "Client Type": CLIENT_TYPES,
        "Support Staff": YES_NO,
        "VIP": YES_NO,
    },
)

FORMS = {COMPANY_FORM: COMPANY_SPEC, PEOPLE_FORM: PEOPLE_SPEC}


def date_key(value: object) -> str | None:
    """Return a string that sorts like the instant of an AR date value, or None if unparsable."""
    if not isinstance(value, str):
        return None
    # Fast path: the canonical form already sorts correctly as text.
    if len(value) == 28 and value[10] == "T" and value.endswith("+0000"):
        return value[:23]
    return _slow_date_key(value)


@lru_cache(maxsize=4096)
def _slow_date_key(value: str) -> str | None:
    try:
        return format_ar_datetime(parse_ar_datetime(value))[:23]
    except ValueError:
        return None


def entry_id(prefix: str, number: int) -> str:
    """Build an AR style entry id such as CPY000000000042."""
    return f"{prefix}{number:012d}"


def _words(text: str) -> tuple[str, ...]:
    """Split a space-separated word list."""
    return tuple(text.split())


_FIRST_NAMES = _words(
    "Allen Amelia Anna Arthur Bella Benjamin Bob Brianna Carla Carlos Charlotte Chen Chloe Daniel "
    "David Diana Dmitri Elena Elijah Emily Emma Ethan Fatima Felix Fiona Francesca Gabriel Grace "
    "Hannah Hassan Henry Hiroshi Ian Ingrid Isabel Isaac Jack James Jane Javier Jessica John Julia "
    "Karen Kenji Laura Leo Liam Lily Lucas Lucy Maria Mark Marta Mary Mason Mateo Mia Michael "
    "Mohammed Nadia Natalie Noah Nora Olivia Omar Oscar Paul Peter Priya Rachel Rafael Raj Rebecca "
    "Robert Rosa Ryan Sam Sara Sebastian Sofia Sophie Stefan Susan Thomas Tom Uma Victor Wei "
    "William Yara Yusuf Zoe"
)
_LAST_NAMES = _words(
    "Abbott Adams Agarwal Allbrook Alvarez Andersen Bailey Baker Banerjee Barnes Becker Bennett "
    "Brooks Brown Bruno Campbell Carter Castillo Chang Chen Clarke Collins Cooper Cruz Davies Diaz "
    "Dubois Edwards Evans Fischer Flores Foster Garcia Gomez Gonzalez Graham Gray Green Gupta Hall "
    "Hansen Harris Hayes Hernandez Hill Hoffmann Howard Hughes Ito Jackson James Jensen Johnson "
    "Jones Kato Kelly Khan Kim King Klein Kowalski Kumar Larsen Lee Lewis Lopez Martin Martinez "
    "Meyer Miller Mitchell Moore Morales Morgan Muller Murphy Nakamura Nguyen Nielsen Novak "
    "O'Brien Ortiz Park Patel Perez Peterson Phillips Popescu Price Ramirez Reed Reyes Richter "
    "Rivera Roberts Rodriguez Rossi Russo Sanchez Santos Sato Schmidt Schneider Scott Shah Silva "
    "Singh Smith Suzuki Tanaka Taylor Thomas Thompson Torres Turner Walker Wang Ward Watson Weber "
    "White Williams Wilson Wong Wright Wu Yamamoto Young Zhang Zimmermann"
)
_NAME_WORDS = _words(
    "Acme Apex Arrow Atlas Aurora Beacon Blue Bright Cedar Cobalt Crest Delta Eagle Ember Everest "
    "Falcon Fusion Granite Harbor Horizon Iron Jade Juniper Keystone Lakeside Liberty Lumen Maple "
    "Meridian Monarch Nimbus Northwind Oak Orion Pacific Peak Pinnacle Polar Prairie Quantum "
    "Redwood River Sapphire Sierra Silver Solar Sterling Summit Tidal Titan Union Vertex Vista "
    "Willow Zenith"
)
_SECTOR_WORDS = _words(
    "Analytics Bank Biotech Capital Chemicals Construction Consulting Energy Engineering Foods "
    "Freight Health Hotels Insurance Labs Logistics Media Metals Mining Motors Pharma Retail "
    "Software Systems Telecom Textiles Travel Utilities"
)
_SUFFIXES = ("Inc.", "Ltd", "Group", "Corp.", "GmbH", "S.A.", "LLC", "plc", "AG", "Holdings")
_LEGAL_WORDS = frozenset({"inc", "ltd", "corp", "gmbh", "s", "a", "llc", "plc", "ag", "group"})
_MANUFACTURER_WORDS = ("Devices", "Hardware", "Electronics", "Components", "Instruments")
_ORGANIZATIONS = {
    "Finance": ("Accounts Payable", "Payroll", "Treasury", "Audit"),
    "Human Resources": ("Recruiting", "Benefits", "Training"),
    "Information Technology": ("Service Desk", "Infrastructure", "Applications", "Security"),
    "Sales": ("Inside Sales", "Field Sales", "Key Accounts"),
    "Marketing": ("Brand", "Digital Marketing", "Communications"),
    "Operations": ("Logistics", "Procurement", "Facilities", "Quality"),
    "Research and Development": ("Product Design", "Engineering", "Testing"),
    "Legal": ("Compliance", "Contracts"),
    "Customer Support": ("Tier 1 Support", "Tier 2 Support", "Field Service"),
}
_PROVIDER_ORGANIZATIONS = {
    "IT Support": ("Service Desk", "Desktop Support", "Network Operations"),
    "Managed Services": ("Service Delivery", "Account Management", "Cloud Operations"),
    "Back Office": ("Billing", "Human Resources"),
}
_REGIONS = {
    "Americas": {
        "North America": ("New York", "Toronto", "Chicago", "Austin", "San Jose"),
        "Latin America": ("Sao Paulo", "Mexico City", "Bogota"),
    },
    "Europe": {
        "Western Europe": ("London", "Paris", "Amsterdam", "Dublin"),
        "Central Europe": ("Frankfurt", "Munich", "Zurich", "Vienna", "Prague"),
        "Nordics": ("Stockholm", "Copenhagen", "Oslo"),
    },
    "Asia Pacific": {
        "East Asia": ("Tokyo", "Seoul", "Shanghai"),
        "South Asia": ("Bangalore", "Pune", "Mumbai"),
        "Oceania": ("Sydney", "Melbourne", "Auckland"),
    },
}
# Non-Customer companies after the fixed ones, drawn with these weights; the rest are Customers.
_TAIL_TYPES = ("Customer",) * 14 + ("Vendor", "Supplier", "Manufacturer", "Operating Company")
_INACTIVE_CYCLE = ("Offline", "Proposed", "Obsolete", "Archive", "Delete")
_SECONDS_PER_YEAR = 365 * 24 * 3600


def generate_dataset(
    companies: int = 40, people: int = 2000, seed: int = 1, anchor: datetime = DEFAULT_ANCHOR
) -> dict[str, list[dict[str, object]]]:
    """Return {form: [values, ...]}, a pure function of the sizes, the seed and the anchor.

    Companies: 1 "Calbro Services" (Service Provider, the MSP), 2 "- Global -" (Operating Company,
    Enabled, no people), 3 a Manufacturer (no people), then one Customer, Vendor, Supplier and
    Generic Contact, then mostly Customers; every ninth tail company is not Enabled. People are
    spread over every company except Global and Manufacturers.
    """
    if companies < 1 or people < 0:
        raise ValueError("companies must be >= 1 and people >= 0")
    rng = random.Random(seed)
    company_rows = _generate_companies(rng, companies, anchor)
    people_rows = _generate_people(rng, company_rows, people, anchor)
    return {COMPANY_FORM: company_rows, PEOPLE_FORM: people_rows}


def _random_date(rng: random.Random, anchor: datetime) -> str:
    return format_ar_datetime(anchor - timedelta(seconds=rng.randrange(1, _SECONDS_PER_YEAR)))


def _abbreviation(name: str, used: set[str]) -> str:
    letters = "".join(word[0] for word in re.findall(r"[A-Za-z]+", name)).upper()[:5] or "CO"
    candidate, number = letters, 1
    while candidate in used:
        number += 1
        candidate = f"{letters}{number}"
    used.add(candidate)
    return candidate


def _generate_companies(
    rng: random.Random, count: int, anchor: datetime
) -> list[dict[str, object]]:
    fixed: list[tuple[str, str]] = [
        (PROVIDER_COMPANY, "Service Provider"),
        (GLOBAL_COMPANY, "Operating Company"),
        ("", "Manufacturer"),
        ("", "Customer"),
        ("", "Vendor"),
        ("", "Supplier"),
        ("", "Generic Contact"),
    ]
    used_names = {PROVIDER_COMPANY, GLOBAL_COMPANY}
    used_abbreviations: set[str] = set()
    customers: list[str] = []
    rows: list[dict[str, object]] = []
    for index in range(count):
        if index < len(fixed):
            name, company_type = fixed[index]
        else:
            name, company_type = "", rng.choice(_TAIL_TYPES)
        if not name:
            name = _company_name(rng, company_type, used_names)
        status = "Enabled"
        if index >= len(fixed) and (index - len(fixed)) % 9 == 4:
            status = _INACTIVE_CYCLE[((index - len(fixed)) // 9) % len(_INACTIVE_CYCLE)]
        parent = None
        if company_type == "Customer" and customers and rng.random() < 0.1:
            parent = rng.choice(customers)
        if company_type == "Customer":
            customers.append(name)
        rows.append(
            {
                "Company Entry ID": entry_id("CPY", index + 1),
                "Company": name,
                "Company Type": company_type,
                "Status": status,
                "Company Abbreviation": _abbreviation(name, used_abbreviations),
                "Parent Company": parent,
                LAST_MODIFIED: _random_date(rng, anchor),
            }
        )
    return rows


def _company_name(rng: random.Random, company_type: str, used: set[str]) -> str:
    while True:
        first = rng.choice(_NAME_WORDS)
        if company_type == "Manufacturer":
            second = rng.choice(_MANUFACTURER_WORDS)
        else:
            second = rng.choice(_SECTOR_WORDS)
        name = f"{first} {second} {rng.choice(_SUFFIXES)}"
        if len(used) > 5000:
            # Word combinations run out for very large company counts; a number keeps it unique.
            name = f"{name} {len(used)}"
        if name not in used:
            used.add(name)
            return name


def _domain(company: str) -> str:
    words = [w for w in re.findall(r"[a-z0-9]+", company.lower()) if w not in _LEGAL_WORDS]
    return "".join(words[:2]) + ".com"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _generate_people(
    rng: random.Random, companies: list[dict[str, object]], count: int, anchor: datetime
) -> list[dict[str, object]]:
    homes = [
        c
        for c in companies
        if c["Company Type"] != "Manufacturer" and c["Company"] != GLOBAL_COMPANY
    ]
    if not homes:
        if count:
            raise ValueError("people need at least one company that is not Global or Manufacturer")
        return []
    weights = []
    for position, company in enumerate(homes):
        if company["Company Type"] == "Customer":
            # Zipf-like sizes so a few customers are large and many are small.
            weights.append(10.0 / (1 + position % 13) + 1.0)
        elif company["Company Type"] == "Service Provider":
            weights.append(6.0)
        else:
            weights.append(0.6)
    layouts = [_company_layout(rng, c) for c in homes]
    assigned = rng.choices(range(len(homes)), weights=weights, k=count)
    used_mail: dict[str, int] = {}
    used_login: dict[str, int] = {}
    random_ = rng.random
    rows: list[dict[str, object]] = []
    first_names, last_names = _FIRST_NAMES, _LAST_NAMES
    n_first, n_last = len(first_names), len(last_names)
    for index, home in enumerate(assigned):
        company = homes[home]
        domain, org_depts, locations, is_provider = layouts[home]
        first = first_names[int(random_() * n_first)]
        last = last_names[int(random_() * n_last)]
        local = f"{_slug(first)}.{_slug(last)}"
        mail_key = f"{local}@{domain}"
        seen = used_mail.get(mail_key, 0)
        used_mail[mail_key] = seen + 1
        email = mail_key if not seen else f"{local}{seen + 1}@{domain}"
        login = None
        if random_() < 0.88:
            base = f"{_slug(first)[:1]}{_slug(last)}"
            seen = used_login.get(base, 0)
            used_login[base] = seen + 1
            login = base if not seen else f"{base}{seen + 1}"
        organization, department = org_depts[int(random_() * len(org_depts))]
        region, site_group, site = locations[int(random_() * len(locations))]
        roll = random_()
        if is_provider:
            client_type = "Office-Based Employee" if roll < 0.7 else "Field-Based Employee"
        elif company["Company Type"] == "Vendor":
            client_type = "Vendor"
        elif roll < 0.55:
            client_type = "Office-Based Employee"
        elif roll < 0.7:
            client_type = "Field-Based Employee"
        elif roll < 0.8:
            client_type = "Home-Based Employee"
        elif roll < 0.9:
            client_type = "Contractor"
        elif roll < 0.97:
            client_type = "Customer"
        else:
            client_type = "Prospect"
        support = "Yes" if (is_provider and random_() < 0.8) or random_() < 0.02 else "No"
        status_roll = random_()
        status = "Enabled"
        if status_roll >= 0.95:
            status = _INACTIVE_CYCLE[int((status_roll - 0.95) * 100) % len(_INACTIVE_CYCLE)]
        rows.append(
            {
                "Person ID": entry_id("PPL", index + 1),
                "Remedy Login ID": login,
                "First Name": first,
                "Last Name": last,
                "Internet E-mail": email,
                "Company": company["Company"],
                "Organization": organization,
                "Department": department,
                "Region": region,
                "Site Group": site_group,
                "Site": site,
                "Client Type": client_type,
                "Support Staff": support,
                "VIP": "Yes" if random_() < 0.03 else "No",
                "Profile Status": status,
                LAST_MODIFIED: _random_date(rng, anchor),
            }
        )
    return rows


def _company_layout(
    rng: random.Random, company: dict[str, object]
) -> tuple[str, list[tuple[str, str]], list[tuple[str, str, str]], bool]:
    is_provider = company["Company Type"] == "Service Provider"
    catalog = _PROVIDER_ORGANIZATIONS if is_provider else _ORGANIZATIONS
    organizations = rng.sample(sorted(catalog), k=min(len(catalog), rng.randint(2, 5)))
    org_depts = [(org, dept) for org in organizations for dept in catalog[org]]
    regions = rng.sample(sorted(_REGIONS), k=rng.randint(1, len(_REGIONS)))
    locations = []
    for region in regions:
        for site_group, sites in _REGIONS[region].items():
            for site in rng.sample(sites, k=rng.randint(1, min(2, len(sites)))):
                locations.append((region, site_group, site))
    return _domain(str(company["Company"])), org_depts, locations, is_provider
