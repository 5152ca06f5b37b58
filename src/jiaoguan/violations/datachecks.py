"""Data checks of violation records (``jiaoguan check-data``): the cross-checks of ``record_clean`` over
stored rows, which may have arrived before the checks existed: the record number (its check
character, and its date against the offence day in Beijing time) and the plate type against
the plate's form (GA 36, the registry's plate-type table)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jiaoguan.core.datachecks import CheckContext, Finding, in_batches, register_check, table_of
from jiaoguan.core.errors import ValidationFailed
from jiaoguan.core.identifiers import parse_plate
from jiaoguan.registry import rules as registry_rules

from . import rules
from .models import Fine, Violation
from .services import check_plate_fits_type

_FIELDS = ("record_number", "plate_number", "plate_type", "occurred_at")


def _finding(pk: Any, name: str, error: ValidationFailed) -> Finding:
    return Finding(table_of(Violation), str(pk), name, f"{error.code}: {error.message}")


def _problems(row: dict[str, Any]) -> Iterator[Finding]:
    try:
        number = rules.record_number_check(row["record_number"])
        rules.check_record_number_date(number, occurred_on=rules.offence_day(row["occurred_at"]))
    except ValidationFailed as error:
        yield _finding(row["pk"], "record_number", error)
    if row["plate_type"] not in registry_rules.PLATE_TYPES:
        yield _finding(
            row["pk"], "plate_type",
            ValidationFailed(
                "violations.plate_type", f"号牌种类 {row['plate_type']} 无效。", f"Unknown plate type {row['plate_type']}."
            ),
        )  # fmt: skip
        return
    try:
        check_plate_fits_type(parse_plate(row["plate_number"]), row["plate_type"])
    except ValidationFailed as error:
        yield _finding(row["pk"], "plate_number", error)


def check_records(context: CheckContext) -> Iterator[Finding]:
    for rows in in_batches(Violation.objects.all(), fields=_FIELDS, size=context.batch_size):
        for row in rows:
            yield from _problems(row)


_FINE_FIELDS = (
    "violation__occurred_at", "violation__handled_at", "decided_on", "paid_at", "amount_fen", "late_fee_fen",
)  # fmt: skip


def check_fines(context: CheckContext) -> Iterator[Finding]:
    """Decided fines whose dates or late fee do not fit together (rules.fine_timeline_problems)."""
    for rows in in_batches(Fine.objects.all(), fields=_FINE_FIELDS, size=context.batch_size):
        for row in rows:
            for field, zh, en in rules.fine_timeline_problems(
                occurred_at=row["violation__occurred_at"], handled_at=row["violation__handled_at"],
                decided_on=row["decided_on"], paid_at=row["paid_at"], fine_fen=row["amount_fen"],
                late_fee_fen=row["late_fee_fen"],
            ):  # fmt: skip
                yield Finding(table_of(Fine), str(row["pk"]), field, f"violations.fine_timeline: {zh} / {en}")


def register() -> None:
    """Called from the violations AppConfig.ready."""
    register_check("violations.records")(check_records)
    register_check("violations.fines")(check_fines)
