"""C1 in the database itself: no customer row for a Manufacturer or the Global company."""

from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION customers_company_eligible() RETURNS trigger AS $$
DECLARE
    kind text;
    company_name text;
BEGIN
    SELECT company_type, name INTO kind, company_name FROM itsm_sync_company WHERE id = NEW.company_id;
    IF kind = 'Manufacturer' OR company_name = 'Global' THEN
        RAISE EXCEPTION '%% can''t be a customer (rule C1)', company_name
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER customers_company_eligible
    BEFORE INSERT OR UPDATE OF company_id ON customers_customer
    FOR EACH ROW EXECUTE FUNCTION customers_company_eligible();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS customers_company_eligible ON customers_customer;
DROP FUNCTION IF EXISTS customers_company_eligible();
"""
SQLITE = """
CREATE TRIGGER customers_company_eligible BEFORE INSERT ON customers_customer
WHEN (SELECT company_type = 'Manufacturer' OR name = 'Global' FROM itsm_sync_company WHERE id = NEW.company_id)
BEGIN SELECT RAISE(ABORT, 'This company can''t be a customer (rule C1)'); END;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS customers_company_eligible")


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_customer_customeradministrator_customerservice_and_more")]
    operations = [migrations.RunPython(create, drop)]
