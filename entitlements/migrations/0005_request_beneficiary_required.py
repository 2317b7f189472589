import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    # Apart from 0004, whose UPDATE would leave PostgreSQL with pending trigger events.
    dependencies = [
        ("entitlements", "0004_request_approval_statuses_and_beneficiary"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='servicerequest',
            name='beneficiary',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='requests_for_me', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='servicerequest',
            index=models.Index(fields=['beneficiary', '-submitted_at', '-id'], name='request_beneficiary_idx'),
        ),
    ]
