"""`ordering` on a subscription (SPEC 4): "none" (the default) or "entity"."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_headers_signature_scheme"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhook",
            name="ordering",
            field=models.CharField(
                choices=[("none", "None"), ("entity", "Entity")],
                db_default="none",
                default="none",
                max_length=16,
            ),
        ),
    ]
