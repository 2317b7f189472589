"""M3 in the database: MSP mode can be switched off only while no customer has ever been added.

The first customer's arrival is recorded on the MSP mode row (first_customer_at) by a trigger on
customers_customer, whatever path added it, and the record can't be cleared; the trigger of
msp_portal 0002 now lets MSP mode go off only while that record is empty and no customer exists.
A customer inserted while the MSP mode record says off is refused (M5): that closes the race of
a first customer added at the moment MSP mode is switched off.
"""

from django.db import migrations

STAYS_ON = "MSP mode stays on once a customer has been added (rule M3)"
RECORD_KEPT = "The date of the first customer is kept for good (rule M3)"
OFF = "MSP mode is off: customers exist only while it is on (rule M5)"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION msp_portal_mspmode_stays_on() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.enabled OR OLD.first_customer_at IS NOT NULL THEN
            RAISE EXCEPTION '{STAYS_ON}' USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.first_customer_at IS NOT NULL
       AND NEW.first_customer_at IS DISTINCT FROM OLD.first_customer_at THEN
        RAISE EXCEPTION '{RECORD_KEPT}' USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.enabled AND NOT NEW.enabled
       AND (NEW.first_customer_at IS NOT NULL OR EXISTS (SELECT 1 FROM customers_customer)) THEN
        RAISE EXCEPTION '{STAYS_ON}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION customers_first_customer_recorded() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM msp_portal_mspmode WHERE id = 1 AND NOT enabled) THEN
        RAISE EXCEPTION '{OFF}' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE msp_portal_mspmode SET first_customer_at = now()
        WHERE id = 1 AND first_customer_at IS NULL;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER customers_first_customer_recorded
    AFTER INSERT ON customers_customer
    FOR EACH STATEMENT EXECUTE FUNCTION customers_first_customer_recorded();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS customers_first_customer_recorded ON customers_customer;
DROP FUNCTION IF EXISTS customers_first_customer_recorded();
"""
# As msp_portal 0002 created it: once on, never off.
POSTGRES_ONCE_ON_NEVER_OFF = """
CREATE OR REPLACE FUNCTION msp_portal_mspmode_stays_on() RETURNS trigger AS $$
BEGIN
    IF OLD.enabled AND (TG_OP = 'DELETE' OR NOT NEW.enabled) THEN
        RAISE EXCEPTION 'MSP mode is on and cannot be switched off (rule M3)'
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

# On SQLite (the demo) only UPDATE of the MSP mode row is guarded, as in msp_portal 0002: the
# test runner flushes tables with DELETE.
SQLITE = [
    "DROP TRIGGER IF EXISTS msp_portal_mspmode_stays_on_update",
    f"""CREATE TRIGGER msp_portal_mspmode_stays_on_update BEFORE UPDATE ON msp_portal_mspmode
    WHEN OLD.enabled AND NOT NEW.enabled
        AND (NEW.first_customer_at IS NOT NULL OR EXISTS (SELECT 1 FROM customers_customer))
    BEGIN SELECT RAISE(ABORT, '{STAYS_ON}'); END;""",
    f"""CREATE TRIGGER msp_portal_mspmode_first_customer_kept BEFORE UPDATE ON msp_portal_mspmode
    WHEN OLD.first_customer_at IS NOT NULL
        AND (NEW.first_customer_at IS NULL OR NEW.first_customer_at != OLD.first_customer_at)
    BEGIN SELECT RAISE(ABORT, '{RECORD_KEPT}'); END;""",
    f"""CREATE TRIGGER customers_first_customer_recorded AFTER INSERT ON customers_customer
    BEGIN
        SELECT RAISE(ABORT, '{OFF}')
            WHERE EXISTS (SELECT 1 FROM msp_portal_mspmode WHERE id = 1 AND NOT enabled);
        UPDATE msp_portal_mspmode SET first_customer_at = strftime('%Y-%m-%d %H:%M:%f', 'now')
            WHERE id = 1 AND first_customer_at IS NULL;
    END;""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS customers_first_customer_recorded",
    "DROP TRIGGER IF EXISTS msp_portal_mspmode_first_customer_kept",
    "DROP TRIGGER IF EXISTS msp_portal_mspmode_stays_on_update",
    """CREATE TRIGGER msp_portal_mspmode_stays_on_update BEFORE UPDATE ON msp_portal_mspmode
    WHEN OLD.enabled AND NOT NEW.enabled
    BEGIN SELECT RAISE(ABORT, 'MSP mode is on and cannot be switched off (rule M3)'); END;""",
]


def record_earlier_customers(apps, schema_editor):
    """An installation that already had customers, even ones removed since (the audit trail
    keeps their arrival), has had its first customer."""
    MspMode = apps.get_model("msp_portal", "MspMode")
    Customer = apps.get_model("customers", "Customer")
    AuditEvent = apps.get_model("msp_portal", "AuditEvent")
    arrivals = [
        Customer.objects.order_by("created_at").values_list("created_at", flat=True).first(),
        AuditEvent.objects.filter(action="customer.add")
        .order_by("at")
        .values_list("at", flat=True)
        .first(),
    ]
    arrivals = [at for at in arrivals if at is not None]
    if arrivals:
        MspMode.objects.filter(pk=1, first_customer_at__isnull=True).update(
            first_customer_at=min(arrivals)
        )


def create(apps, schema_editor):
    record_earlier_customers(apps, schema_editor)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
        schema_editor.execute(POSTGRES_ONCE_ON_NEVER_OFF)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_customer_company_eligible"),
        ("msp_portal", "0007_mspmode_first_customer_at"),
    ]
    operations = [migrations.RunPython(create, drop)]
