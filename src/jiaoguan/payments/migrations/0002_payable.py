"""Payables (应缴款项): every existing fine gets one, and its payment orders point at it.

The fine's own paid columns are copied, so a database that already has orders keeps
every one of them, paid or pending, with the same guarantees (V5).
"""

import django.db.models.deletion
from django.db import migrations, models

BATCH = 1000


def fines_to_payables(apps, schema_editor):
    Fine = apps.get_model("violations", "Fine")
    Payable = apps.get_model("payments", "Payable")
    PaymentOrder = apps.get_model("payments", "PaymentOrder")
    fines = Fine.objects.select_related("violation__vehicle", "violation__licence").order_by("pk")
    last = 0
    while True:
        batch = list(fines.filter(pk__gt=last)[:BATCH])
        if not batch:
            break
        last = batch[-1].pk
        done = set(
            Payable.objects.filter(kind="fine", reference__in=[f.decision_number for f in batch]).values_list(
                "reference", flat=True
            )
        )
        Payable.objects.bulk_create(
            [
                Payable(
                    kind="fine",
                    reference=fine.decision_number,
                    description=f"交通违法罚款 {fine.decision_number}",
                    principal_fen=fine.amount_fen,
                    subject_person_id=fine.violation.licence.holder_id if fine.violation.licence_id else None,
                    division=fine.deciding_division,
                    home_division=fine.violation.vehicle.division if fine.violation.vehicle_id else "",
                    state=fine.status,
                    paid_at=fine.paid_at,
                    paid_channel=fine.paid_channel,
                    late_fee_fen=fine.late_fee_fen,
                    paid_total_fen=fine.paid_total_fen,
                )
                for fine in batch
                if fine.decision_number not in done
            ]
        )
        payable_of = dict(
            Payable.objects.filter(kind="fine", reference__in=[f.decision_number for f in batch]).values_list(
                "reference", "pk"
            )
        )
        for fine in batch:
            PaymentOrder.objects.filter(fine_id=fine.pk).update(payable_id=payable_of[fine.decision_number])


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("registry", "0003_pointsentry_fine_unpaid"),
        ("violations", "0002_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="Payable",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        db_comment="registered kind (payments/kinds.py), e.g. fine",
                        max_length=16,
                        verbose_name="款项类别 kind",
                    ),
                ),
                (
                    "reference",
                    models.CharField(
                        db_comment="the kind's own number, e.g. the penalty decision number of a fine",
                        max_length=32,
                        verbose_name="款项编号 reference",
                    ),
                ),
                (
                    "description",
                    models.CharField(
                        db_comment="shown to the payer and sent to the gateway",
                        max_length=100,
                        verbose_name="款项说明 description",
                    ),
                ),
                (
                    "principal_fen",
                    models.PositiveIntegerField(
                        db_comment="without late fee", verbose_name="应缴金额(分) amount due in fen"
                    ),
                ),
                (
                    "division",
                    models.CharField(
                        db_comment="GB/T 2260 code of the agency that issued it; staff there see it",
                        max_length=6,
                        verbose_name="决定机关行政区划 issuing division",
                    ),
                ),
                (
                    "home_division",
                    models.CharField(
                        blank=True,
                        db_comment="GB/T 2260 code where the subject's vehicle is registered (V6); staff there see it too",
                        max_length=6,
                        verbose_name="登记地行政区划 registration division",
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[("unpaid", "未缴款 unpaid"), ("paid", "已缴款 paid")],
                        default="unpaid",
                        max_length=8,
                        verbose_name="缴款状态 state",
                    ),
                ),
                ("paid_at", models.DateTimeField(blank=True, null=True, verbose_name="缴款时间 paid at")),
                (
                    "paid_channel",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("online", "网上缴款 online"),
                            ("counter", "窗口缴款 counter"),
                            ("other_platform", "其他渠道 other platform"),
                        ],
                        max_length=16,
                        verbose_name="缴款渠道 paid on",
                    ),
                ),
                (
                    "late_fee_fen",
                    models.PositiveIntegerField(
                        db_comment="late fee charged with the payment",
                        default=0,
                        verbose_name="加处罚款(分) late fee in fen",
                    ),
                ),
                (
                    "paid_total_fen",
                    models.PositiveIntegerField(default=0, verbose_name="实缴金额(分) paid in fen"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="创建时间 created at")),
                (
                    "subject_person",
                    models.ForeignKey(
                        blank=True,
                        db_comment="whose record it is, for the audit trail (never shown in lists)",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="registry.person",
                        verbose_name="当事人 subject person",
                    ),
                ),
            ],
            options={
                "verbose_name": "应缴款项 payable",
                "verbose_name_plural": "应缴款项 payables",
                "indexes": [models.Index(fields=["division", "state"], name="payable_division_state")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "reference"), name="payable_kind_reference_unique"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("state", "unpaid"),
                            models.Q(
                                ("paid_at__isnull", False), models.Q(("paid_channel", ""), _negated=True)
                            ),
                            _connector="OR",
                        ),
                        name="payable_paid_has_time_and_channel",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("state", "unpaid"),
                            ("paid_total_fen", models.F("principal_fen") + models.F("late_fee_fen")),
                            _connector="OR",
                        ),
                        name="payable_paid_total_sum",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="paymentorder",
            name="payable",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="payments.payable",
                verbose_name="应缴款项 payable",
            ),
        ),
        migrations.RunPython(fines_to_payables, migrations.RunPython.noop, elidable=False),
    ]
