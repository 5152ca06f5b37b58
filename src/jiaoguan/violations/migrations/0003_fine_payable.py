"""Each fine points at the payable the payments app keeps for it (made in payments 0002)."""

import django.db.models.deletion
from django.db import migrations, models


def link_payables(apps, schema_editor):
    Fine = apps.get_model("violations", "Fine")
    Payable = apps.get_model("payments", "Payable")
    for payable_id, reference in (
        Payable.objects.filter(kind="fine").values_list("pk", "reference").iterator()
    ):
        Fine.objects.filter(decision_number=reference, payable__isnull=True).update(payable_id=payable_id)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_payable"),
        ("violations", "0002_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="fine",
            name="payable",
            field=models.OneToOneField(
                null=True,
                db_comment="the payable the payments app keeps for this fine",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="payments.payable",
                verbose_name="应缴款项 payable",
            ),
        ),
        migrations.RunPython(link_payables, migrations.RunPython.noop, elidable=False),
    ]
