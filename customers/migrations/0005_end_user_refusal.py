"""People the end-user filters bring in who can't have a portal account, with the reason (C4)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_msp_mode_off_until_first_customer"),
        ("itsm_sync", "0004_runs_in_steps"),
    ]

    operations = [
        migrations.CreateModel(
            name="EndUserRefusal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reason", models.TextField()),
                ("since", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="refusals",
                        to="customers.customer",
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="itsm_sync.person",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        blank=True,
                        help_text="The people sync whose filter application first refused them, if any.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="itsm_sync.syncrun",
                    ),
                ),
            ],
            options={
                "ordering": ["customer", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("customer", "person"), name="end_user_refusal_once"
                    )
                ],
            },
        ),
    ]
