"""A ledger entry keeps the acting-as customer's name in full (an ITSM company name may be 254
characters); on SQLite the column change rebuilds the table, so the K2 trigger is made again."""

from django.db import migrations, models

SQLITE = """CREATE TRIGGER IF NOT EXISTS credits_entry_append_only BEFORE UPDATE ON credits_creditentry
BEGIN SELECT RAISE(ABORT, 'Credit entries are append-only (rule K2)'); END;"""


def keep_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE)


class Migration(migrations.Migration):
    dependencies = [("credits", "0002_ledger_append_only")]

    operations = [
        migrations.AlterField(
            model_name="creditentry",
            name="acting_as_label",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(keep_append_only, migrations.RunPython.noop),
    ]
