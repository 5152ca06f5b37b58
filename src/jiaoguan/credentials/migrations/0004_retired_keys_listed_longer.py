from datetime import timedelta

from django.db import migrations


def keep_retired_keys_listed(apps, schema_editor):
    """A retired key stays on the trust list for the longest token plus the minute a process
    may still sign with it (keys.RETIRED_KEY_VERIFIES); keys retired earlier had two minutes less."""
    SigningKey = apps.get_model("credentials", "SigningKey")
    for key in SigningKey.objects.filter(retired_at__isnull=False):
        longest = key.retired_at + timedelta(days=366, seconds=120)
        if key.not_after is None or key.not_after < longest:
            key.not_after = longest
            key.save(update_fields=["not_after"])


class Migration(migrations.Migration):

    dependencies = [
        ('credentials', '0003_online_nonce_checked_at'),
    ]

    operations = [
        migrations.RunPython(keep_retired_keys_listed, migrations.RunPython.noop),
    ]
