"""M3 in the database itself: once MSP mode is on, no UPDATE or DELETE can switch it off."""

from django.db import migrations

POSTGRES_TRIGGER = """
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
CREATE TRIGGER msp_portal_mspmode_stays_on
    BEFORE UPDATE OR DELETE ON msp_portal_mspmode
    FOR EACH ROW EXECUTE FUNCTION msp_portal_mspmode_stays_on();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS msp_portal_mspmode_stays_on ON msp_portal_mspmode;
DROP FUNCTION IF EXISTS msp_portal_mspmode_stays_on();
"""
# On SQLite (the demo) only UPDATE is guarded: the test runner flushes tables with DELETE.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER msp_portal_mspmode_stays_on_update BEFORE UPDATE ON msp_portal_mspmode
    WHEN OLD.enabled AND NOT NEW.enabled
    BEGIN SELECT RAISE(ABORT, 'MSP mode is on and cannot be switched off (rule M3)'); END;""",
]


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_TRIGGER)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS msp_portal_mspmode_stays_on_update")


class Migration(migrations.Migration):
    dependencies = [("msp_portal", "0001_initial")]
    operations = [migrations.RunPython(create_trigger, drop_trigger)]
