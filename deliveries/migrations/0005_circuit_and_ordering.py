"""The circuit breaker's shared state and the ordering column (SPEC 3, issue 15)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('deliveries', '0004_search_indexes'),
        ('webhooks', '0002_health'),
    ]

    operations = [
        migrations.CreateModel(
            name='EndpointCircuit',
            fields=[
                ('webhook', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='circuit', serialize=False, to='webhooks.webhook')),
                ('state', models.CharField(choices=[('healthy', 'Healthy'), ('open', 'Open'), ('half_open', 'Half Open')], default='healthy', max_length=16)),
                ('since', models.DateTimeField()),
                ('consecutive_failures', models.PositiveIntegerField(default=0)),
                ('next_probe_at', models.DateTimeField(blank=True, null=True)),
                ('cooldown_seconds', models.FloatField(default=0)),
                ('probe_delivery_id', models.BigIntegerField(blank=True, null=True)),
                ('times_opened', models.PositiveIntegerField(default=0)),
                ('opened_at', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.AddField(
            model_name='delivery',
            name='ordering_entity_id',
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('ordering_entity_id__isnull', False), ('state__in', ('pending', 'failed', 'sending', 'paused'))), fields=['webhook', 'ordering_entity_id', 'id'], name='delivery_order_idx'),
        ),
        migrations.AddIndex(
            model_name='endpointcircuit',
            index=models.Index(condition=models.Q(('state', 'healthy'), _negated=True), fields=['next_probe_at'], name='circuit_not_healthy_idx'),
        ),
    ]
