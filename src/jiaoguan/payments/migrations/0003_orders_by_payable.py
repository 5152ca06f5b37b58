"""Payment orders belong to a payable only: the fine foreign key and its guards give way to the
payable's (one pending and one paid order per payable)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_payable"),
        ("violations", "0003_fine_payable"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="paymentorder", name="payment_one_open_order_per_fine"),
        migrations.RemoveConstraint(model_name="paymentorder", name="payment_one_paid_order_per_fine"),
        migrations.RemoveConstraint(model_name="paymentorder", name="payment_amount_sum"),
        migrations.RemoveField(model_name="paymentorder", name="fine"),
        migrations.AlterField(
            model_name="paymentorder",
            name="payable",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="payments.payable",
                verbose_name="应缴款项 payable",
            ),
        ),
        migrations.RenameField(model_name="paymentorder", old_name="fine_fen", new_name="principal_fen"),
        migrations.AddConstraint(
            model_name="paymentorder",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state", "pending")),
                fields=("payable",),
                name="payment_one_open_order_per_payable",
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentorder",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state", "paid")),
                fields=("payable",),
                name="payment_one_paid_order_per_payable",
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentorder",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_fen", models.F("principal_fen") + models.F("late_fee_fen"))),
                name="payment_amount_sum",
            ),
        ),
    ]
