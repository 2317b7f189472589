"""C1 in the database: the global company under either name, "- Global -" (as a real ITSM ships
it) or "Global", can't be a customer, on insert and on a change of company.

An existing database gets the new trigger. A customer that already is the global company (the
old trigger knew only "Global") can't be undone here without losing its history: the migration
names it in a warning for the operator.
"""

import logging

from django.db import migrations

logger = logging.getLogger("customers.migrations")

GLOBAL_NAMES = ("- Global -", "Global")

POSTGRES = """
CREATE OR REPLACE FUNCTION customers_company_eligible() RETURNS trigger AS $$
DECLARE
    kind text;
    company_name text;
BEGIN
    SELECT company_type, name INTO kind, company_name FROM itsm_sync_company WHERE id = NEW.company_id;
    IF kind = 'Manufacturer' OR company_name IN ('- Global -', 'Global') THEN
        RAISE EXCEPTION '%% can''t be a customer (rule C1)', company_name
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""
POSTGRES_BACK = POSTGRES.replace(
    "company_name IN ('- Global -', 'Global')", "company_name = 'Global'"
)

SQLITE_CONDITION = (
    "(SELECT company_type = 'Manufacturer' OR name IN ('- Global -', 'Global') "
    "FROM itsm_sync_company WHERE id = NEW.company_id)"
)
SQLITE = [
    "DROP TRIGGER IF EXISTS customers_company_eligible",
    f"""CREATE TRIGGER customers_company_eligible BEFORE INSERT ON customers_customer
WHEN {SQLITE_CONDITION}
BEGIN SELECT RAISE(ABORT, 'This company can''t be a customer (rule C1)'); END;""",
    "DROP TRIGGER IF EXISTS customers_company_eligible_update",
    f"""CREATE TRIGGER customers_company_eligible_update
BEFORE UPDATE OF company_id ON customers_customer
WHEN {SQLITE_CONDITION}
BEGIN SELECT RAISE(ABORT, 'This company can''t be a customer (rule C1)'); END;""",
]
SQLITE_BACK = [
    "DROP TRIGGER IF EXISTS customers_company_eligible_update",
    "DROP TRIGGER IF EXISTS customers_company_eligible",
    """CREATE TRIGGER customers_company_eligible BEFORE INSERT ON customers_customer
WHEN (SELECT company_type = 'Manufacturer' OR name = 'Global' FROM itsm_sync_company WHERE id = NEW.company_id)
BEGIN SELECT RAISE(ABORT, 'This company can''t be a customer (rule C1)'); END;""",
]


def global_customers(apps) -> list[str]:
    """Names of the companies that are the global company and already a customer."""
    Customer = apps.get_model("customers", "Customer")
    return list(
        Customer.objects.filter(company__name__in=GLOBAL_NAMES).values_list(
            "company__name", flat=True
        )
    )


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)
    found = global_customers(apps)
    if found:
        logger.warning(
            "Customer(s) %s are the built-in global company, which can't be a customer (C1). "
            "Remove them on the customers page; nothing else changed.",
            ", ".join(found),
        )


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACK)
    elif vendor == "sqlite":
        for statement in SQLITE_BACK:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_end_user_refusal")]
    operations = [migrations.RunPython(forward, backward)]
