from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_fewer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="idempotency_fingerprint",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
    ]
