from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0002_step_routed_to_msp"),
    ]

    operations = [
        migrations.AddField(
            model_name="approvalstep",
            name="earlier_approvers_excluded",
            field=models.BooleanField(default=False),
        ),
    ]
